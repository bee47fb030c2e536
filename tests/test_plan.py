"""The Docker plans do not move: every URN, input, dependency and option of the
recorded plans (tests/plans/, written by `python tests/plan.py --write`) is what the
program asks for today. A change meant to change them records them again, in the same
commit, so that the diff shows what a user's next `pulumi up` will do."""

import pytest

import plan


def differences(before: dict, after: dict) -> list[str]:
    lines = [f"gone: {urn}" for urn in sorted(before.keys() - after.keys())]
    lines += [f"new: {urn}" for urn in sorted(after.keys() - before.keys())]
    for urn in sorted(before.keys() & after.keys()):
        for part in before[urn]:
            if before[urn][part] != after[urn].get(part):
                lines.append(f"changed {part}: {urn}")
    return lines


@pytest.mark.parametrize("case", list(plan.CASES))
def test_the_docker_plan_is_the_recorded_one(case):
    found = differences(plan.recorded(case), plan.current(case))
    assert not found, "\n".join(found[:20])
