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
