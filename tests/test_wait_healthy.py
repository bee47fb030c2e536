"""scripts/wait_healthy.py (the health gate that runs before anything that needs a
service healthy) against real containers on the local engine, whose health check fails
and then passes."""

import subprocess
import sys
import uuid

import pytest

from engine import docker
from harness import PROJECT_DIR

SCRIPT = PROJECT_DIR / "scripts/wait_healthy.py"


def gate(container: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--timeout", str(timeout), "--poll", "0.2", container],
                          capture_output=True, text=True)


@pytest.fixture
def container(base_image):
    """A container that is healthy once /tmp/ok exists (checked every second)."""
    name = f"fhl-test-health-{uuid.uuid4().hex[:8]}"
    docker("run", "-d", "--name", name, "--network", "none",
           "--health-cmd", "echo checking; test -f /tmp/ok", "--health-interval", "1s", "--health-retries", "1",
           base_image, "/bin/busybox", "sleep", "300", check=True)
    yield name
    docker("rm", "-f", name)


def test_fails_naming_the_service_its_last_check_and_how_to_read_its_log_then_passes(container):
    failed = gate(container, timeout=4)
    assert failed.returncode == 1
    message = failed.stderr.strip()
    assert "\n" not in message
    assert message.startswith(f"{container} is not healthy after 4s (health: ")
    assert "last check exited 1: checking" in message
    assert f"read its log with `docker logs {container}`" in message and "`make up` again" in message
    # the retried `make up` runs the gate again: once the check passes, so does the gate
    docker("exec", container, "/bin/busybox", "touch", "/tmp/ok", check=True)
    passed = gate(container, timeout=30)
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.startswith(f"{container} is healthy")


def test_a_stopped_container_fails_at_once(container):
    docker("stop", "-t", "0", container, check=True)
    failed = gate(container, timeout=60)
    assert failed.returncode == 1
    assert f"{container} stopped (exit code" in failed.stderr and "before it became healthy" in failed.stderr


def test_a_missing_container_or_one_without_a_check_fails(base_image):
    missing = gate(f"fhl-test-missing-{uuid.uuid4().hex[:8]}", timeout=5)
    assert missing.returncode == 1 and "there is no such container" in missing.stderr
    name = f"fhl-test-nocheck-{uuid.uuid4().hex[:8]}"
    docker("run", "-d", "--name", name, "--network", "none", base_image, "/bin/busybox", "sleep", "60", check=True)
    try:
        unchecked = gate(name, timeout=5)
        assert unchecked.returncode == 1 and "has no health check" in unchecked.stderr
    finally:
        docker("rm", "-f", name)
