#!/usr/bin/env python3
"""Times what a `make up` with nothing to change costs in the parts the project owns,
without the Pulumi CLI (docs/benchmarks.md, "A make up with nothing to change").

    venv/bin/python bench/bench_noop.py [--containers 30] [--runs 5] [--check]

1. The program under Pulumi's mocks (tests/harness.py), per number of stacks: the floor
   of one engine pass of `pulumi preview` or `pulumi up` (each runs the program once).
2. The no-op check alone (commands/noop.py `check`) against the Docker engine, with N
   containers labelled as the program labels a stack's (stand-ins on the local busybox
   image), and the record of an `up`.
3. The wrapper itself (`commands/stack.py up`, a new Python process, as `make up` starts
   it) with a stand-in `pulumi` that answers at once: today's path (`--refresh`: recovery's
   export, select, up) against the no-op path, and how many pulumi commands each starts
   (each costs the real CLI 0.5-1 s before it does anything).

The project's own files are copied into a scratch project, so that the check hashes as
many bytes as in a real checkout. --check exits non-zero unless the no-op path starts no
pulumi (what the tests hold; its time is a figure to read, never a test's pass or fail).
Containers carry the label fhl-bench=noop and are removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from engine import docker, engine_problem, import_base  # noqa: E402

STACK_CHOICES = {
    "1 stack (kpow)": {"stacks": json.dumps(["kpow"])},
    "4 stacks (default)": {},
    "9 stacks, catalog hive, lite": {"stacks": json.dumps(["kpow", "flex", "analytics", "pinot", "telemetry",
                                                            "lineage", "redis", "clickhouse", "starrocks"]),
                                     "catalog": "hive", "profile": "lite"},
}
COPIED = ("Pulumi.yaml", "__main__.py", "requirements.txt", "settings", "stacks", "engines", "scripts", "commands",
          "resources")
FAKE_PULUMI = r"""#!/bin/sh
echo "$*" >> "$CALLS"
case "$1" in
  up) mkdir -p "$STATE_DIR" && echo "{\"version\": 3, \"at\": $(date +%s%N)}" > "$STATE_DIR/$STACK_NAME.json" ;;
esac
exit 0
"""
PROGRAM = """
import sys, time
sys.path[:0] = [{root!r}, {tests!r}]
started = time.monotonic()
from harness import run_program
imported = time.monotonic()
run = run_program({config!r})
assert not run.errors, run.errors
print(len(run.registrations), imported - started, time.monotonic() - imported)
"""


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f} s (median {statistics.median(values):.2f})"


def program_times(runs: int) -> dict[str, tuple[int, list[float], list[float]]]:
    """Per choice of stacks: resources registered, the import times and the run times."""
    found = {}
    for label, config in STACK_CHOICES.items():
        imports, times, count = [], [], 0
        for _ in range(runs):
            out = subprocess.run([sys.executable, "-c", PROGRAM.format(root=str(ROOT), tests=str(ROOT / "tests"),
                                                                       config=config)],
                                 capture_output=True, text=True, check=True, cwd=ROOT).stdout.split()
            count, imports, times = int(out[0]), imports + [float(out[1])], times + [float(out[2])]
        found[label] = (count, imports, times)
    return found


class Scratch:
    """A copy of the project, a stack with a local state, and N stand-in containers."""

    def __init__(self, containers: int):
        self.folder = Path(tempfile.mkdtemp(prefix="fhl-bench-noop-"))
        self.project = self.folder / "project"
        self.project.mkdir()
        for name in COPIED:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, self.project / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(source, self.project / name)
        self.stack = f"bench{uuid.uuid4().hex[:6]}"
        bin_dir = self.folder / "bin"
        bin_dir.mkdir()
        (bin_dir / "pulumi").write_text(FAKE_PULUMI)
        (bin_dir / "pulumi").chmod(0o755)
        self.pulumi = str(bin_dir / "pulumi")
        self.calls = self.folder / "calls"
        self.env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
                    "CALLS": str(self.calls), "PULUMI_CONFIG_PASSPHRASE": "bench", "STACK_NAME": self.stack,
                    "STATE_DIR": str(self.project / ".pulumi-state/.pulumi/stacks/factorhouse-local")}
        self.base = import_base()
        self.names = []
        for n in range(containers):
            name = f"fhl-bench-noop-{self.stack}-{n}"
            docker("run", "-d", "--name", name, "--network", "none", "--label", "fhl-bench=noop",
                   "--label", f"dev.factorhouse.local=service-{n}",
                   "--label", f"dev.factorhouse.local.stack=factorhouse-local/{self.stack}",
                   "--health-cmd", "/bin/busybox true", "--health-interval", "30s",
                   self.base, "/bin/busybox", "sleep", "3600", check=True)
            self.names.append(name)

    def wrapper(self, *args: str) -> tuple[float, int, int]:
        """One `make up` as a new process: seconds, pulumi commands started before `pulumi
        up` (or instead of it), and all pulumi commands started."""
        self.calls.unlink(missing_ok=True)
        started = time.monotonic()
        subprocess.run([sys.executable, str(self.project / "commands" / "stack.py"), "up", "--stack", self.stack,
                        "--project-dir", str(self.project), *args], env=self.env, cwd=self.project,
                       stdin=subprocess.DEVNULL, capture_output=True, check=True)
        seconds = time.monotonic() - started
        made = self.calls.read_text().splitlines() if self.calls.exists() else []
        return seconds, len([call for call in made if not call.startswith("up ")]), len(made)

    def clean(self) -> None:
        docker("rm", "-f", *self.names)
        docker("image", "rm", "-f", self.base)
        shutil.rmtree(self.folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--containers", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--pulumi-call", type=float, default=0.75,
                        help="seconds the real CLI takes per command before it does anything (measured 0.5-1)")
    parser.add_argument("--skip-program", action="store_true", help="leave out the program under mocks")
    args = parser.parse_args()
    problem = engine_problem()
    if problem:
        print(f"needs a Docker engine: {problem}", file=sys.stderr)
        return 2
    if not args.skip_program:
        print("The program under mocks (one engine pass runs it once):")
        for label, (count, imports, times) in program_times(args.runs).items():
            print(f"  {label}: {count} resources, {spread(times)} (imports {spread(imports)})")
    scratch = Scratch(args.containers)
    try:
        from commands import noop
        today = [scratch.wrapper("--refresh") for _ in range(args.runs)]
        record = noop.read_record(scratch.project, scratch.stack)
        assert record and len(record["engine"]["containers"]) == args.containers, "no record of the up"
        folder = scratch.project / ".pulumi-state"
        checks = []
        for _ in range(args.runs):
            started = time.monotonic()
            verdict = noop.check(scratch.pulumi, scratch.stack, scratch.env, scratch.project, folder)
            checks.append(time.monotonic() - started)
            assert verdict.action == "nothing", verdict
        fast = [scratch.wrapper() for _ in range(args.runs)]
    finally:
        scratch.clean()
    print(f"The no-op check alone, {args.containers} containers: {spread(checks)}")
    for label, times in (("today's path (--refresh)", today), ("nothing to do", fast)):
        own = [t for t, _, _ in times]
        calls = times[0][1]
        print(f"The wrapper, {label}: {spread(own)} of its own, {calls} pulumi commands before the engine pass "
              f"(with the real CLI at {args.pulumi_call:.2f} s each: about "
              f"{statistics.median(own) + calls * args.pulumi_call:.1f} s before `pulumi up` starts, if it does)")
    if args.check and fast[0][2] != 0:
        print("check failed: the no-op path started pulumi", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
