"""scripts/wait_healthy.py (the health gate that runs before anything that needs a
service healthy) against real containers on the local engine, whose health check fails
and then passes, or passes at once while Docker's own first check is 30 s away."""

import os
import subprocess
import sys
import time
import uuid
from types import SimpleNamespace

import pytest

from engine import docker
from harness import PROJECT_DIR
from scripts import wait_healthy

SCRIPT = PROJECT_DIR / "scripts/wait_healthy.py"


def gate(container: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--timeout", str(timeout), container],
                          capture_output=True, text=True)


def failed_in_one_line(result: subprocess.CompletedProcess, start: str) -> str:
    """The gate failed, with one line that starts so; returns the line."""
    assert result.returncode == 1
    message = result.stderr.strip()
    assert "\n" not in message and message.startswith(start), message
    return message


def start(base_image, *check: str, command: tuple[str, ...] = ("/bin/busybox", "sleep", "300")) -> str:
    name = f"fhl-test-health-{uuid.uuid4().hex[:8]}"
    docker("run", "-d", "--name", name, "--network", "none", "--label", "fhl-test=health", *check,
           base_image, *command, check=True)
    return name


@pytest.fixture
def container(base_image):
    """A container that is healthy once /tmp/ok exists (checked every second)."""
    name = start(base_image, "--health-cmd", "echo checking; test -f /tmp/ok", "--health-interval", "1s",
                 "--health-retries", "1")
    yield name
    docker("rm", "-f", name)


def test_fails_naming_the_service_its_last_check_and_how_to_read_its_log_then_passes(container):
    message = failed_in_one_line(gate(container, timeout=4), f"{container} is not healthy after 4s (health: ")
    assert "last check exited 1: checking" in message
    assert f"read its log with `docker logs {container}`" in message and "`make up` again" in message
    # the retried `make up` runs the gate again: once the check passes, so does the gate
    docker("exec", container, "/bin/busybox", "touch", "/tmp/ok", check=True)
    passed = gate(container, timeout=30)
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.startswith(f"{container} is healthy")


def test_a_stopped_container_fails_naming_its_exit_code(container):
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


@pytest.fixture
def slow_interval(base_image):
    """Containers whose check runs every 30 s (Pinot's interval): Docker reports nothing
    for the first 30 s."""
    made = []

    def make(test: str) -> str:
        made.append(start(base_image, "--health-cmd", test, "--health-interval", "30s", "--health-timeout", "5s",
                          "--health-retries", "3"))
        return made[-1]
    yield make
    for name in made:
        docker("rm", "-f", name)


def test_a_service_ready_at_once_is_healthy_by_its_own_check_before_dockers_first(slow_interval):
    container = slow_interval("/bin/busybox true")
    passed = gate(container, timeout=60)
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.startswith(f"{container} is healthy: its health check passed")
    # Docker itself has not run a check yet: the gate ran the container's own one
    status = docker("inspect", "--format", "{{.State.Health.Status}}", container).stdout.strip()
    assert status == "starting"


def remote_engine(tmp_path) -> dict[str, str]:
    """The gate's environment for an engine it takes for remote (a tcp:// DOCKER_HOST):
    a docker CLI on PATH that goes to the local engine all the same."""
    real = subprocess.run(["sh", "-c", "command -v docker"], capture_output=True, text=True).stdout.strip()
    local = os.environ.get("DOCKER_HOST")
    stand_in = tmp_path / "bin" / "docker"
    stand_in.parent.mkdir()
    stand_in.write_text("#!/bin/sh\n" + (f"export DOCKER_HOST='{local}'\n" if local else "unset DOCKER_HOST\n")
                        + f'exec {real} "$@"\n')
    stand_in.chmod(0o755)
    return {**os.environ, "DOCKER_HOST": "tcp://bigbox.invalid:2376", "PATH": f"{stand_in.parent}:{os.environ['PATH']}"}


@pytest.mark.parametrize("where, pace", [("local", 0.5), ("remote", 1.0)])
def test_a_service_ready_after_a_while_is_checked_at_the_gates_pace_not_dockers(base_image, tmp_path, monkeypatch,
                                                                                  capsys, where, pace):
    """The gate's pace, not Docker's: the check fails at first and passes once the
    service is ready (/tmp/ok, made after the gate's second failed check); Docker's own
    first check is 30 s away. The gate runs the check itself, pausing its pace between
    two runs (0.5 s on a local engine, 1 s on a remote one): the pauses it asks for are
    recorded, no clock is read. bench/bench_health_chain.py times it."""
    if where == "remote":
        for key, value in remote_engine(tmp_path).items():
            monkeypatch.setenv(key, value)
    pauses: list[float] = []
    monkeypatch.setattr(wait_healthy, "time", SimpleNamespace(monotonic=time.monotonic,
                                                              sleep=lambda s: pauses.append(s) or time.sleep(s)))
    checks: list[bool] = []
    real_check = wait_healthy.run_check

    def check_then_get_ready(container: str, *args):
        checks.append(real_check(container, *args).passed)
        if checks == [False, False]:
            docker("exec", container, "/bin/busybox", "touch", "/tmp/ok", check=True)
        return wait_healthy.Check(checks[-1], "exited 0: " if checks[-1] else "exited 1: ")
    monkeypatch.setattr(wait_healthy, "run_check", check_then_get_ready)
    container = start(base_image, "--health-cmd", "test -f /tmp/ok", "--health-interval", "30s",
                      "--health-retries", "3")
    try:
        assert wait_healthy.main(["--timeout", "60", container]) == 0
        assert capsys.readouterr().out.startswith(f"{container} is healthy: its health check passed")
        assert checks == [False, False, True]  # never before ready, at the first run after it
        assert pauses == [pace, pace]
        status = docker("inspect", "--format", "{{.State.Health.Status}}", container).stdout.strip()
        assert status == "starting"  # Docker has not checked yet
    finally:
        docker("rm", "-f", container)


def test_a_check_that_never_passes_fails_naming_the_container_and_its_output(slow_interval):
    container = slow_interval("echo broker not ready; exit 3")
    message = failed_in_one_line(gate(container, timeout=3),
                                 f"{container} is not healthy after 3s (health: starting; ")
    assert "last check exited 3: broker not ready" in message


def test_a_check_slower_than_its_own_timeout_does_not_pass(base_image):
    container = start(base_image, "--health-cmd", "/bin/busybox sleep 3", "--health-interval", "30s",
                      "--health-timeout", "1s", "--health-retries", "3")
    try:
        message = failed_in_one_line(gate(container, timeout=4), f"{container} is not healthy after 4s")
        assert "last check timed out after 1s" in message
    finally:
        docker("rm", "-f", container)


def test_a_dropped_connection_to_the_engine_is_tried_again(base_image, tmp_path):
    """A docker CLI that fails its second call, as a dropped ssh connection does."""
    container = start(base_image, "--health-cmd", "/bin/busybox true", "--health-interval", "30s")
    try:
        real = subprocess.run(["sh", "-c", "command -v docker"], capture_output=True, text=True).stdout.strip()
        flaky = tmp_path / "bin" / "docker"
        flaky.parent.mkdir()
        flaky.write_text(f'#!/bin/sh\nn=$(cat "{tmp_path}/n" 2>/dev/null || echo 0); echo $((n+1)) > "{tmp_path}/n"\n'
                         f'if [ "$n" = 0 ]; then echo "ssh: Connection reset by peer" >&2; exit 1; fi\n'
                         f'exec {real} "$@"\n')
        flaky.chmod(0o755)
        result = subprocess.run([sys.executable, str(SCRIPT), "--timeout", "20", container], capture_output=True,
                                text=True, env={**os.environ, "PATH": f"{flaky.parent}:{os.environ['PATH']}"})
        assert result.returncode == 0, result.stderr
    finally:
        docker("rm", "-f", container)
