#!/usr/bin/env python3
"""Times a chain of three services that each start once the previous one is healthy
(as Pinot's controller, broker and server do), on a real Docker engine, with
upstream's health checks every 30 s and services that are ready the moment they start.

    python3 bench/bench_health_chain.py [--interval 30] [--links 3] [--check]

Two ways, in the same run, on the same locally made image (the static busybox):
- Docker's status: wait until `docker inspect` says healthy (polled every 2 s, as the
  program's gate did): Docker runs a first check only after `interval`, so each link
  costs about an interval;
- our gate (scripts/wait_healthy.py): runs the container's own check itself every
  half second until it passes.

--check exits non-zero unless our chain takes under 10 s. Containers it makes carry the
label fhl-bench=health-chain and are removed at the end.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests")]

from engine import docker, engine_problem, import_base  # noqa: E402

GATE = ROOT / "scripts" / "wait_healthy.py"


def start(base: str, interval: int) -> str:
    name = f"fhl-bench-chain-{uuid.uuid4().hex[:8]}"
    docker("run", "-d", "--name", name, "--network", "none", "--label", "fhl-bench=health-chain",
           "--health-cmd", "/bin/busybox true", "--health-interval", f"{interval}s", "--health-timeout", "10s",
           "--health-retries", "5", base, "/bin/busybox", "sleep", "600", check=True)
    return name


def dockers_status(name: str) -> None:
    while True:
        state = json.loads(docker("inspect", "--format", "{{json .State}}", name, check=True).stdout)
        if (state.get("Health") or {}).get("Status") == "healthy":
            return
        time.sleep(2)


def our_gate(name: str) -> None:
    subprocess.run([sys.executable, str(GATE), "--timeout", "300", name], check=True, capture_output=True)


def chain(base: str, interval: int, links: int, wait) -> float:
    started = time.monotonic()
    made = []
    try:
        for _ in range(links):
            made.append(start(base, interval))
            wait(made[-1])
        return time.monotonic() - started
    finally:
        docker("rm", "-f", *made)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interval", type=int, default=30, help="seconds between Docker's health checks")
    parser.add_argument("--links", type=int, default=3)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    problem = engine_problem()
    if problem:
        print(f"needs a Docker engine: {problem}", file=sys.stderr)
        return 2
    base = import_base()
    try:
        ours = chain(base, args.interval, args.links, our_gate)
        theirs = chain(base, args.interval, args.links, dockers_status)
    finally:
        docker("image", "rm", "-f", base)
    print(f"chain of {args.links}, checks every {args.interval}s, services ready at once:")
    print(f"  Docker's status (the old gate, compose's service_healthy)  {theirs:6.1f} s")
    print(f"  our gate (the service's own check, every 0.5 s)            {ours:6.1f} s  ({theirs / ours:.0f}x faster)")
    if args.check and ours >= 10:
        print(f"our chain took {ours:.1f} s, not under 10 s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
