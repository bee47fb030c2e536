#!/usr/bin/env python3
"""Waits until a container's own health check passes, within about a second.

    wait_healthy.py [--timeout SECONDS] [--pace SECONDS] CONTAINER

Docker runs a container's first health check only after the check's `interval` (30 s
for Pinot), and every later one an interval apart, so its status says "healthy" up to
an interval after the service is ready. This gate does not wait for that: every
`--pace` seconds (default 0.5; 1 on a remote engine) it runs the container's own check
itself, the command of its HEALTHCHECK, in the container (`docker exec`, as Docker runs
it: the container's user, environment and working folder, the image's shell for a
CMD-SHELL test), with the check's own timeout. A failed `docker inspect` (a dropped
connection to a remote engine) is tried again until the timeout. It exits 0 as soon as that check passes or Docker reports the
container healthy, whichever comes first: "healthy" means the service's own check
passed, never that time went by. The engine is the one DOCKER_HOST names, else the
default one.

It exits 1 with one line that names the container, says what is wrong (still not
healthy at the timeout, stopped, missing, or without a health check), gives the output
of its last check and says how to read its log: when the container is not healthy,
nothing that needs it may start.
Standard library only: the Pulumi command resource runs it with any python3.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script or imported
from dockerenv import docker_cli, docker_env  # noqa: E402

PACE = 0.5  # seconds between two runs of the check while the service starts (local engine)
REMOTE_PACE = 1.0  # on an ssh:// or tcp:// engine, where every call is a connection


class InspectFailed(Exception):
    """docker inspect failed for another reason than a missing container (a dropped
    connection to a remote engine): tried again until the deadline."""


def inspect(container: str) -> dict | None:
    """The container's state, health check and shell, or None when there is no such container."""
    result = subprocess.run(["docker", "inspect", "--type", "container", "--format",
                             '{"State": {{json .State}}, "Healthcheck": {{json .Config.Healthcheck}}, '
                             '"Shell": {{json .Config.Shell}}}', container],
                            capture_output=True, text=True, env=docker_env(), stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        if "No such" in result.stderr:
            return None
        raise InspectFailed(f"docker inspect failed: {' '.join(result.stderr.split())[:300]}")
    return json.loads(result.stdout)


def check_command(healthcheck: dict | None, shell: list[str] | None = None) -> list[str] | None:
    """The command of a HEALTHCHECK as Docker runs it (a CMD-SHELL test in the image's
    SHELL, /bin/sh -c by default), or None without one."""
    test = (healthcheck or {}).get("Test") or []
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD-SHELL":
        return [*(shell or ["/bin/sh", "-c"]), " ".join(test[1:])]
    return list(test[1:]) if test[0] == "CMD" else list(test)


@dataclass
class Check:
    passed: bool
    summary: str  # "exited N: output"


def run_check(container: str, command: list[str], timeout: float, env: dict | None = None) -> Check:
    """The check run once in the container, as Docker runs it (on the engine `env`
    names, else the one this process's environment names)."""
    try:
        result = subprocess.run(["docker", "exec", container, *command], capture_output=True, text=True,
                                timeout=timeout, env=docker_env(env), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Check(False, f"timed out after {timeout:.0f}s")
    output = " ".join((result.stdout + result.stderr).split())[:300] or "(no output)"
    return Check(result.returncode == 0, f"exited {result.returncode}: {output}")


def docker_last_check(state: dict) -> str | None:
    log = (state.get("Health") or {}).get("Log") or []
    if not log:
        return None
    entry = log[-1]
    output = " ".join(str(entry.get("Output", "")).split())
    return f"exited {entry.get('ExitCode')}: {output[:300] or '(no output)'}"


def wait(container: str, timeout: float, pace: float) -> tuple[str | None, str]:
    """(None, how) once healthy, else (why not, "")."""
    hint = f"read its log with `{docker_cli()} logs {container}`, fix the cause, then run `make up` again"
    deadline = time.monotonic() + timeout
    last: str | None = None
    while True:
        try:
            info = inspect(container)
        except InspectFailed as error:
            if time.monotonic() >= deadline:
                return f"{container}: {error}; {hint}", ""
            last = str(error)
            time.sleep(pace)
            continue
        if info is None:
            return f"{container}: there is no such container on this engine; run `make up` to make it", ""
        state, command = info["State"], check_command(info["Healthcheck"], info.get("Shell"))
        health = state.get("Health")
        if not health or command is None:
            return f"{container} has no health check to wait for", ""
        if health.get("Status") == "healthy":
            return None, "Docker reports it healthy"
        last = docker_last_check(state) or last
        if state.get("Status") in ("exited", "dead"):
            return (f"{container} stopped (exit code {state.get('ExitCode')}) before it became healthy "
                    f"(last check {last or 'none finished'}); {hint}"), ""
        if state.get("Running") and not state.get("Restarting"):
            # the check's own timeout (Docker's default: 30 s)
            check = run_check(container, command, (info["Healthcheck"].get("Timeout") or 30e9) / 1e9)
            if check.passed:
                return None, "its health check passed"
            last = check.summary
        if time.monotonic() >= deadline:
            return (f"{container} is not healthy after {timeout:.0f}s (health: {health.get('Status')}; "
                    f"last check {last or 'none finished'}); {hint}"), ""
        time.sleep(pace)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("container")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--pace", type=float)
    args = parser.parse_args(argv)
    if args.pace is None:
        remote = docker_env().get("DOCKER_HOST", "").startswith(("ssh://", "tcp://"))
        args.pace = REMOTE_PACE if remote else PACE
    if shutil.which("docker") is None:
        print("wait_healthy: the docker command is not on PATH", file=sys.stderr)
        return 1
    started = time.monotonic()
    problem, how = wait(args.container, args.timeout, args.pace)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    print(f"{args.container} is healthy: {how} ({time.monotonic() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
