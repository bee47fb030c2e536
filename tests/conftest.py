import sys
from pathlib import Path

import pytest

# the project folder, so that tests import `stacks` as __main__.py does
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import engine  # noqa: E402


@pytest.fixture(scope="session")
def base_image():
    """A base image on the default engine (skips without one)."""
    engine.need(engine.engine_problem(), "a Docker engine")
    tag = engine.import_base()
    yield tag
    engine.docker("image", "rm", "-f", tag)


@pytest.fixture(scope="session")
def second_engine():
    """A second Docker engine, standing in for a remote one (skips where one cannot start)."""
    engine.need(engine.engine_problem(), "a Docker engine")
    second = engine.SecondEngine()
    engine.need(second.problem(), "a second Docker engine")
    try:
        engine.need(second.start(), "a second Docker engine")
        yield second
    finally:
        second.stop()


# .work/ and .pulumi-state/ belong to the user's real stacks: a test run leaves them as it
# found them (tests use temporary folders), or the run fails.
USER_FOLDERS = [Path(__file__).resolve().parent.parent / name for name in (".work", ".pulumi-state")]


def _snapshot() -> dict[str, tuple[int, int]]:
    seen = {}
    for folder in USER_FOLDERS:
        if folder.exists():
            for path in [folder, *folder.rglob("*")]:
                info = path.lstat()
                seen[str(path)] = (info.st_mtime_ns, info.st_size)
    return seen


def pytest_sessionstart(session):
    session.config._user_folders = _snapshot()


def pytest_sessionfinish(session, exitstatus):
    before = getattr(session.config, "_user_folders", None)
    after = _snapshot()
    if before is not None and after != before:
        changed = sorted(set(after) ^ set(before) | {k for k in after.keys() & before.keys() if after[k] != before[k]})
        print(f"\nthe tests changed the user's folders: {changed[:10]}")
        session.exitstatus = 1
