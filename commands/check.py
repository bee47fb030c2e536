#!/usr/bin/env python3
"""What `make check` runs: asks every service of a stack its own question, as a client on
this machine would, through the addresses the stack's outputs give (docs/check.md).

    check.py [--stack NAME] [--json] [--outputs FILE] [--project-dir DIR]

What runs and where is read from the stack's outputs (`pulumi stack output --json
--show-secrets`, commands/stack_outputs.py; --outputs reads that JSON from a file
instead), never from a list of its own. The questions (checks/, one module per stack)
run at the same time, each with short timeouts. One row a
service: what it asked, pass or fail, how long; a failed row adds one line of cause and
one of the way out. A service without a question yet is listed as "no check yet".

Exit status: 0 when every question passed, 1 when one failed, 2 when the stack's outputs
cannot be read. --json prints the rows as one JSON document, for scripts.

Its failure paths (outputs it cannot read, a question that fails, nothing answering),
what the user sees of each, and the test that holds it: docs/commands.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping, Sequence

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))  # run as a script or imported

import checks  # noqa: E402
from commands import stack_outputs  # noqa: E402
from scripts.dockerenv import docker_cli  # noqa: E402

PASS, FAIL, NO_CHECK = "pass", "fail", "no check yet"


@dataclass
class Row:
    service: str
    stack: str  # the stack (kpow, flex, ...) that runs it
    asked: str
    result: str  # PASS, FAIL or NO_CHECK
    seconds: float
    found: str = ""
    cause: str = ""
    wayOut: str = ""


class WaysOut:
    """How the user gets at a service on the stack's engine, for a failed row's way out."""

    def __init__(self, outputs: Mapping, stack: str):
        engine = outputs.get("engine") or {}
        self.kind, self.address, self.stack = engine.get("kind", "docker"), engine.get("address", ""), stack
        self.namespace = outputs.get("namespace", "")
        self.services: Mapping[str, Mapping] = outputs.get("services") or {}

    def published_at(self, address: str, default: Mapping) -> Mapping:
        """The service published at HOST:PORT (the one to look at when nothing answers there)."""
        return next((s for s in self.services.values() if address in (s.get("addresses") or [])), default)

    def logs(self, service: Mapping) -> str:
        workload = service.get("workload", "?")
        if self.kind == "kubernetes":
            kind = "job" if service.get("oneShot") else "deployment"
            return f"its log: `{shlex.join(self._kubectl())} logs {kind}/{workload}`"
        return f"its log: `{self._docker()} logs {workload}`"

    def unreachable(self, service: Mapping) -> str:
        if self.kind == "kubernetes":
            return (f"on Kubernetes the address is a port forward: run `make forward STACK={self.stack}` and keep it "
                    f"running; {self.logs(service)}")
        workload = service.get("workload", "?")
        return (f"is it running? `{self._docker()} ps -a --filter name={workload}`; {self.logs(service)}; "
                f"`make up STACK={self.stack}` starts what stopped")

    def _docker(self) -> str:
        host = "" if self.address in ("", "(default)") else self.address
        return docker_cli({"DOCKER_HOST": host} if host else {})

    def _kubectl(self) -> list[str]:
        context = ["--context", self.address] if self.address else []
        return ["kubectl", *context, "--namespace", self.namespace or "default"]


def ask(name: str, service: Mapping, outputs: Mapping, shared: checks.Shared, stack: str,
        ways: WaysOut) -> Row:
    """One service's row: its question asked, timed."""
    q = checks.question_for(name, outputs)
    if q is None:
        return Row(name, service.get("stack", ""), "", NO_CHECK, 0.0)
    target = checks.Target(name, service, outputs, shared, stack)
    row = Row(name, service.get("stack", ""), checks.asked(q, target), PASS, 0.0)
    started = time.monotonic()
    try:
        row.found = q.ask(target)
    except checks.Unreachable as failed:
        row.result, row.cause = FAIL, failed.cause
        row.wayOut = failed.way_out or ways.unreachable(ways.published_at(failed.address, service))
    except checks.Failed as failed:
        row.result, row.cause, row.wayOut = FAIL, failed.cause, failed.way_out or ways.logs(service)
    except Exception as error:  # a client's error the question did not foresee: still one line
        row.result, row.cause = FAIL, " ".join(f"{type(error).__name__}: {error}".split())[:300]
        row.wayOut = ways.logs(service)
    row.seconds = round(time.monotonic() - started, 2)
    return row


def _order(outputs: Mapping):
    stacks = list(outputs.get("stacks") or [])

    def key(item):
        name, service = item
        place = stacks.index(service.get("stack")) if service.get("stack") in stacks else len(stacks)
        return place, [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
    return key


def ask_all(outputs: Mapping, stack: str) -> list[Row]:
    """Every service of the `services` output asked at once; rows in the stacks' order."""
    services = sorted((outputs.get("services") or {}).items(), key=_order(outputs))
    shared, ways = checks.Shared(), WaysOut(outputs, stack)
    with ThreadPoolExecutor(max_workers=max(1, len(services))) as pool:
        futures = [pool.submit(ask, name, service, outputs, shared, stack, ways) for name, service in services]
        return [future.result() for future in futures]


def summary(rows: Sequence[Row], seconds: float) -> str:
    counts = {result: sum(r.result == result for r in rows) for result in (PASS, FAIL, NO_CHECK)}
    return (f"{counts[PASS]} passed, {counts[FAIL]} failed, {counts[NO_CHECK]} without a check yet, "
            f"in {seconds:.1f} s")


def table(rows: Sequence[Row], stack: str, outputs: Mapping, seconds: float) -> str:
    engine = (outputs.get("engine") or {}).get("kind", "docker")
    width = max([len(r.service) for r in rows] + [7])
    lines = [f"stack {stack} ({engine}): {len(rows)} services",
             f"{'RESULT':<12} {'SERVICE':<{width}} {'TIME':>6}  ASKED"]
    for r in rows:
        took = f"{r.seconds:.2f}s" if r.result != NO_CHECK else "-"
        asked = r.asked or "(nothing yet: its question is to be written)"
        lines.append(f"{r.result:<12} {r.service:<{width}} {took:>6}  {asked}")
        if r.result == FAIL:
            lines.append(f"{'':<12} {'':<{width}} {'':>6}  cause: {r.cause}")
            lines.append(f"{'':<12} {'':<{width}} {'':>6}  way out: {r.wayOut}")
    lines.append(summary(rows, seconds))
    return "\n".join(lines)


def report(rows: Sequence[Row], stack: str, outputs: Mapping, seconds: float) -> dict:
    return {"stack": stack, "engine": (outputs.get("engine") or {}).get("kind", "docker"),
            "passed": not any(r.result == FAIL for r in rows), "seconds": round(seconds, 2),
            "summary": summary(rows, seconds), "services": [asdict(r) for r in rows]}


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None,
         interactive: bool | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON, for scripts")
    parser.add_argument("--outputs", type=Path, help="the stack's outputs (pulumi stack output --json "
                                                     "--show-secrets) from this file, instead of asking pulumi")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR)
    args = parser.parse_args(argv)
    env = dict(os.environ if env is None else env)
    interactive = sys.stdin.isatty() if interactive is None else interactive
    try:
        outputs = json.loads(args.outputs.read_text()) if args.outputs else \
            stack_outputs.read(args.stack, args.project_dir, env, interactive)
    except (stack_outputs.OutputsError, OSError, ValueError) as error:
        print(error, file=sys.stderr)
        return 2
    if not outputs.get("services"):
        print(f"Stack {args.stack}'s outputs list no services (they are recorded since `make check` exists): "
              f"run `make up STACK={args.stack}` once.", file=sys.stderr)
        return 2
    started = time.monotonic()
    rows = ask_all(outputs, args.stack)
    seconds = time.monotonic() - started
    print(json.dumps(report(rows, args.stack, outputs, seconds), indent=2) if args.json
          else table(rows, args.stack, outputs, seconds))
    return 1 if any(r.result == FAIL for r in rows) else 0


if __name__ == "__main__":
    from commands import entry
    entry.run(main)
