"""Redis, the stack `redis` (docs/services.md, Redis stack), which upstream runs with the
Flink side:
under mocks on both engines, and for real where it is cheap: Debian's redis-server,
started by the program's command with the password the program sets, answers the
program's health check (PING), and nobody without the password.

Without redis-server (`apt-get install redis-server`) the real tests skip, saying why;
with FHL_REQUIRE_DOCKER=1 (as .ci/run sets, and installs it) they fail instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest

from engine import free_port, need, stop
from harness import VOLUME, run_program, stand_in
from test_kubernetes import K8S, Pods

PASSWORD = "rd S3cret 'x' \"4711\""  # quotes and spaces: passed as the program passes it
REDIS = {"stacks": json.dumps(["redis"])}


@pytest.fixture(scope="module")
def run():
    return run_program({**REDIS, "redisPassword": PASSWORD}, secret_keys=("redisPassword",))


def test_redis_runs_as_upstreams(run):
    redis = run.container("redis")
    assert redis["name"] == "redis" and run.image_of("redis") == "redis:8"
    assert run.ports("redis") == [("127.0.0.1", 6379, 6379)]
    assert redis["restart"] == "always"
    # upstream's command; the password from the container's settings, not the command line
    assert redis["command"] == ["sh", "-c", 'exec docker-entrypoint.sh redis-server --appendonly yes '
                                '--loglevel warning --requirepass "$REDIS_PASSWORD"']
    assert PASSWORD not in json.dumps(redis["command"])
    assert run.env("redis") == {"REDIS_PASSWORD": PASSWORD} and run.secret("redis", "envs")
    assert redis["healthcheck"] == {"tests": ["CMD-SHELL", 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli ping | grep -q PONG'],
                                    "interval": "5s", "timeout": "3s", "retries": 10, "startPeriod": "0s"}
    assert run.gate("redis")["create"].endswith(" redis")
    # its append-only file in a kept volume
    assert run.mounts("redis")["/data"]["volumeName"] == "redis-data"
    assert run.one(VOLUME, "volume-redis-data").retain_on_delete
    assert run.outputs["redisUrl"] == "redis://127.0.0.1:6379"
    assert run.outputs["summary"].endswith("redis: redis")
    moved = run_program({**REDIS, "portOffset": "10", "namePrefix": "a-"})
    assert moved.ports("redis") == [("127.0.0.1", 6389, 6379)] and moved.container("redis")["name"] == "a-redis"


def test_redis_runs_only_when_chosen_never_by_default():
    for run in (run_program(), run_program({"stacks": json.dumps(["kpow", "flex", "analytics", "pinot"])})):
        assert "redis" not in run.containers and "redisUrl" not in run.outputs
    # so its default password is refused only where redis runs
    without = {k: v for k, v in K8S.items() if k != "redisPassword"}
    workloads = Pods(run_program({**without, "stacks": json.dumps(["analytics"])})).workloads
    assert "minio" in workloads and "redis" not in workloads


def test_on_kubernetes_its_password_comes_from_a_secret():
    run = run_program({**K8S, **REDIS, "redisPassword": PASSWORD}, secret_keys=("redisPassword",))
    pods = Pods(run)
    [env] = pods.container("redis")["env"]
    assert env["name"] == "REDIS_PASSWORD" and "secretKeyRef" in env["valueFrom"]
    assert pods.env("redis")["REDIS_PASSWORD"] == PASSWORD
    assert pods.container("redis")["readinessProbe"]["exec"]["command"] == \
        ["/bin/sh", "-c", 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli ping | grep -q PONG']
    assert pods.data("redis") == {"/data": "redis-data"}
    for r in run.registrations:
        if r.type != "kubernetes:core/v1:Secret":
            assert PASSWORD not in json.dumps(r.inputs), r.name


# -- for real ----------------------------------------------------------------------------

def redis_problem() -> str | None:
    for command in ("redis-server", "redis-cli"):
        if shutil.which(command) is None:
            return f"no {command} on PATH (apt-get install redis-server)"
    return None


@pytest.fixture
def server(run, tmp_path):
    """redis-server started by the program's command, with the program's settings. The
    image's entrypoint and the redis-cli its check runs stand in for the image's: they
    add where this machine's server listens (127.0.0.1, a free port, a data folder here)."""
    need(redis_problem(), "Redis from Debian's packages")
    port = free_port()
    (tmp_path / "data").mkdir()
    bin_dir = stand_in(tmp_path, "docker-entrypoint.sh",
                       f'#!/bin/sh\nexec "$@" --port {port} --bind 127.0.0.1 --dir {tmp_path / "data"}\n')
    stand_in(tmp_path, "redis-cli", f'#!/bin/sh\nexec {shutil.which("redis-cli")} -p {port} "$@"\n')
    env = {**os.environ, **run.env("redis"), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    process = subprocess.Popen(run.container("redis")["command"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        yield process, port, env
    finally:
        stop(process)


def check(run, env: dict) -> int:
    """The program's health check, as Docker runs a CMD-SHELL test in the container."""
    kind, test = run.container("redis")["healthcheck"]["tests"]
    assert kind == "CMD-SHELL"
    return subprocess.run(["/bin/sh", "-c", test], env=env, capture_output=True, timeout=10).returncode


def test_redis_answers_ping_with_the_password_the_program_sets(run, server):
    process, port, env = server
    deadline = time.monotonic() + 20
    while check(run, env) != 0:
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline, "redis never answered the health check"
        time.sleep(0.2)
    cli = shutil.which("redis-cli")
    with_password = {**os.environ, "REDISCLI_AUTH": PASSWORD}
    assert subprocess.run([cli, "-p", str(port), "ping"], env=with_password, capture_output=True,
                          text=True).stdout.strip() == "PONG"
    # upstream's settings reached the server
    assert subprocess.run([cli, "-p", str(port), "config", "get", "appendonly"], env=with_password,
                          capture_output=True, text=True).stdout.split() == ["appendonly", "yes"]
    # nobody without it: no password, or another one
    assert "NOAUTH" in subprocess.run([cli, "-p", str(port), "ping"], capture_output=True, text=True).stdout
    assert check(run, {**env, "REDIS_PASSWORD": "redis-pass"}) != 0
