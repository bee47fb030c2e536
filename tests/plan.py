"""A whole plan of the program under mocks, as data: every resource it registers, by URN,
with its inputs (secrets marked), dependencies and options; paths of this checkout and
of the user's cache written as placeholders, so that a plan is the same in any clone.

    python tests/plan.py --write    # record the Docker plans in tests/plans/ (after a
                                    # change that is meant to change them)

`tests/test_plan.py` compares the program's Docker plans with the recorded ones: a
refactor that moves a Docker resource (another URN) or changes what it asks for fails.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi.runtime import rpc  # noqa: E402

from harness import PROJECT_DIR, run_program  # noqa: E402

PLANS = Path(__file__).resolve().parent / "plans"

# name -> (config, stack): the Docker plans that are recorded
CASES: dict[str, tuple[dict[str, str], str]] = {
    "default": ({}, "dev"),
    "lite-kpow-pinot": ({"profile": "lite", "stacks": json.dumps(["kpow", "pinot"]), "namePrefix": "a-"}, "dev"),
    "alice-remote": ({"namePrefix": "alice-", "portOffset": "100", "dockerHost": "ssh://alice@bigbox",
                      "sparkThriftPorts": "true", "edition": "community", "followLatest": "true"}, "alice"),
    "flex-alone-no-data": ({"stacks": json.dumps(["flex"]), "persistData": "false"}, "dev"),
}


def _normal(value: Any, cache: str) -> Any:
    if rpc.is_rpc_secret(value):
        return {"secret": _normal(rpc.unwrap_rpc_secret(value), cache)}
    if isinstance(value, dict):
        return {k: _normal(v, cache) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_normal(v, cache) for v in value]
    if isinstance(value, str):
        return value.replace(str(PROJECT_DIR), "<project>").replace(cache, "<cache>")
    return value


def plan(run) -> dict[str, dict]:
    """URN -> what the program asks of that resource."""
    from settings.downloads import cache_dir
    cache = str(cache_dir(""))
    out = {}
    for r in run.registrations:
        out[r.urn] = {
            "inputs": _normal(r.raw, cache),
            "dependencies": sorted(r.dependencies),
            "parent": r.parent,
            "provider": r.provider.rsplit("::", 1)[0],
            "options": {"deleteBeforeReplace": r.delete_before_replace, "replaceOnChanges": r.replace_on_changes,
                        "retainOnDelete": r.retain_on_delete, "protect": r.protect,
                        "ignoreChanges": r.ignore_changes},
        }
    return dict(sorted(out.items()))


def current(case: str) -> dict[str, dict]:
    config, stack = CASES[case]
    return plan(run_program(config, stack=stack))


def recorded(case: str) -> dict[str, dict]:
    return json.loads((PLANS / f"docker-{case}.json").read_text())


def main() -> int:
    if sys.argv[1:] != ["--write"]:
        print(__doc__)
        return 2
    PLANS.mkdir(exist_ok=True)
    for case in CASES:
        (PLANS / f"docker-{case}.json").write_text(json.dumps(current(case), indent=1, sort_keys=True) + "\n")
        print(f"wrote {PLANS / f'docker-{case}.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
