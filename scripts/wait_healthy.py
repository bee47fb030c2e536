#!/usr/bin/env python3
"""Waits until a container's own health check passes.

    wait_healthy.py [--timeout SECONDS] [--poll SECONDS] CONTAINER

Reads the container's health status from the Docker engine (`docker inspect`; the
engine is the one DOCKER_HOST names, else the default). Exits 0 as soon as the container
is healthy. Exits 1 with one line that names the container, says what is wrong (still
unhealthy at the timeout, stopped, missing, or without a health check), gives the output
of its last health check and says how to read its log: when the container is not
healthy, nothing that needs it may start.
Standard library only: the Pulumi command resource runs it with any python3.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time


def docker_cli() -> str:
    host = os.environ.get("DOCKER_HOST")
    return f"docker -H {host}" if host else "docker"


def inspect(container: str) -> dict | None:
    result = subprocess.run(["docker", "inspect", "--type", "container", "--format", "{{json .State}}", container],
                            capture_output=True, text=True)
    if result.returncode != 0:
        if "No such" in result.stderr:
            return None
        raise SystemExit(f"wait_healthy: docker inspect {container} failed: {result.stderr.strip()}")
    return json.loads(result.stdout)


def last_check(state: dict) -> str:
    log = (state.get("Health") or {}).get("Log") or []
    if not log:
        return "no check has finished yet"
    entry = log[-1]
    output = " ".join(str(entry.get("Output", "")).split())
    return f"last check exited {entry.get('ExitCode')}: {output[:300] or '(no output)'}"


def wait(container: str, timeout: float, poll: float) -> str | None:
    """None once healthy, else why not."""
    hint = f"read its log with `{docker_cli()} logs {container}`, fix the cause, then run `make up` again"
    deadline = time.monotonic() + timeout
    while True:
        state = inspect(container)
        if state is None:
            return f"{container}: there is no such container on this engine; run `make up` to make it"
        health = state.get("Health")
        if not health:
            return f"{container} has no health check to wait for"
        if health.get("Status") == "healthy":
            return None
        if state.get("Status") in ("exited", "dead"):
            return (f"{container} stopped (exit code {state.get('ExitCode')}) before it became healthy "
                    f"({last_check(state)}); {hint}")
        if time.monotonic() >= deadline:
            return (f"{container} is not healthy after {timeout:.0f}s (health: {health.get('Status')}; "
                    f"{last_check(state)}); {hint}")
        time.sleep(poll)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("container")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--poll", type=float, default=2)
    args = parser.parse_args(argv)
    if shutil.which("docker") is None:
        print("wait_healthy: the docker command is not on PATH", file=sys.stderr)
        return 1
    started = time.monotonic()
    problem = wait(args.container, args.timeout, args.poll)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    print(f"{args.container} is healthy ({time.monotonic() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
