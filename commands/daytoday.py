#!/usr/bin/env python3
"""What `make ps`, `make logs`, `make restart` and `make shell` run: one service at a
time, on whichever engine runs the stack, as `docker compose ps`, `logs`, `restart` and
`exec` do.

    daytoday.py ps      [--stack NAME]
    daytoday.py logs    [--stack NAME] --service S [--follow] [--lines N]
    daytoday.py restart [--stack NAME] --service S
    daytoday.py shell   [--stack NAME] --service S

What runs is read from the stack itself: its `services` output (every service its last
`up` made: stack, workload, one-shot or not, addresses), its `engine` (the Docker engine
or the Kubernetes context it ran on) and `namespace`, and for Docker its `dockerHost`
setting; never from a list of its own. A service is named by its service name or by
what the engine calls it (`kafka-1`, `schema` or `schema_registry`); a name the stack
does not run gets one line naming those it does. commands/workloads.py asks the engine.

- ps: every service with its state, health, restarts and the address a client uses (the
  stack's URL for it, else HOST:PORT); what is missing or not as it should be is marked
  `!` and named in the last line, with the way out: `make up` only for what `make up`
  puts right (missing, stopped, a failed one-shot). Where Docker still says `starting`,
  the service's own check is run once, as `make up`'s health gate runs it: passed, it is
  healthy (Docker's status catches up at its next check), else still starting.
- logs: its last lines (`--lines`, default 100), and with `--follow` what it logs next.
- restart: the same service stopped and started on the same data and configuration,
  then waited for until its own health check passed; the stack's state stays true.
- shell: a shell inside it (the image's bash, else its sh).

Its failure paths (a "no" at a prompt, a failed step, an engine or cluster that does not
answer), what the user sees of each, and the test that holds it: docs/commands.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))  # run as a script or imported

from commands import passphrase, stack_outputs  # noqa: E402
from commands.pulumi_cli import find_pulumi  # noqa: E402
from commands.recover import stack_settings  # noqa: E402
from commands.workloads import DockerWorkloads, KubernetesWorkloads, Status, Unreachable, Wanted  # noqa: E402
from settings import PROJECT  # noqa: E402

LINES = 100  # of a log, before following it
COLUMNS = ("SERVICE", "STACK", "STATE", "HEALTH", "RESTARTS", "ADDRESS")


class Refused(Exception):
    """The command cannot go on: one line, saying why and what to do."""


def wanted_services(outputs: Mapping) -> list[Wanted]:
    """The services of the stack's `services` output, in the order of its `stacks`
    output, then by name."""
    order = {name: n for n, name in enumerate(outputs.get("stacks") or [])}
    services = [Wanted(name, entry.get("stack", ""), entry.get("workload", name), bool(entry.get("oneShot")),
                       tuple(entry.get("addresses") or ())) for name, entry in (outputs.get("services") or {}).items()]
    return sorted(services, key=lambda s: (order.get(s.stack, len(order)), s.name))


def pick(services: Sequence[Wanted], name: str, stack: str, command: str) -> Wanted:
    """The service called `name` (its service name, or its workload's); Refused naming
    the services of the stack when there is none."""
    names = ", ".join(s.name for s in services)
    if not name:
        raise Refused(f"name a service: `make {command} S=NAME`; stack {stack} runs {names}")
    for service in services:
        if name in (service.name, service.workload):
            return service
    raise Refused(f"no service {name!r} runs in stack {stack}; the services that do: {names}")


def client_address(address: str, outputs: Mapping) -> str:
    """The stack's URL of an address (`kpowUrl` for 127.0.0.1:3000), else the address."""
    for value in outputs.values():
        if isinstance(value, str) and value.split("://", 1)[-1].split("/", 1)[0] == address \
                and value.startswith(("http://", "https://")):
            return value
    return address


def table(services: Sequence[Wanted], statuses: Mapping[str, Status], outputs: Mapping) -> list[str]:
    """The lines of `make ps`: one per service, `!` before one that is not as it should be."""
    rows = [COLUMNS]
    for s in services:
        status = statuses[s.name]
        rows.append((("  " if status.ok else "! ") + s.name, s.stack, status.state, status.health,
                     "-" if status.restarts is None else str(status.restarts),
                     " ".join(client_address(a, outputs) for a in s.addresses) or "-"))
    rows[0] = ("  " + rows[0][0], *rows[0][1:])
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    return ["  ".join(cell.ljust(widths[i]) if i < len(widths) else cell for i, cell in enumerate(row)).rstrip()
            for row in rows]


def summary(services: Sequence[Wanted], statuses: Mapping[str, Status], workloads) -> str:
    """The last line of `make ps`: what needs attention and the way out for each kind (only
    what `make up` puts right is sent to `make up`), or that nothing does."""
    def named(kept: Sequence[Wanted]) -> str:
        return ", ".join(s.name for s in kept)

    wrong = [s for s in services if not statuses[s.name].ok]
    where = " (addresses: through `make forward`)" if workloads.kind == "kubernetes" else ""
    lagging = [s for s in services if statuses[s.name].lags]
    lag = (f" ({named(lagging)}: {'its' if len(lagging) == 1 else 'each'} own health check passed just now; "
           "Docker's status says `starting` until its next check)") if lagging else ""
    if not wrong:
        return f"all {len(services)} services run as the stack says{lag}{where}."
    listed = "; ".join(f"{s.name} ({statuses[s.name].state}"
                       f"{', ' + statuses[s.name].health if statuses[s.name].health not in ('-', 'healthy') else ''})"
                       for s in wrong)
    up = [s for s in wrong if statuses[s.name].made_by_up]
    starting = [s for s in wrong if not statuses[s.name].made_by_up and statuses[s.name].health == "starting"]
    ways = ["`make logs S=NAME` shows why"]
    if starting:
        ways.append(f"{named(starting)} still {'starts' if len(starting) == 1 else 'start'} (its own check does not "
                    "pass yet): `make ps` again in a moment")
    if up:
        ways.append(f"`make up` makes {named(up)} again")
    return f"{len(wrong)} of {len(services)} services are not as the stack says: {listed}{lag}. {'; '.join(ways)}{where}."


def workloads_of(outputs: Mapping, project_dir: Path, stack: str, env: Mapping[str, str]):
    """What reaches the stack's services on its engine (the one its last `up` ran on)."""
    engine = outputs.get("engine") or {}
    if engine.get("kind") == "kubernetes":
        return KubernetesWorkloads(engine["address"], outputs["namespace"], env)
    return DockerWorkloads(f"{PROJECT}/{stack}", stack_settings(project_dir, stack)["dockerHost"], engine, env)


def run(command: Sequence[str], env: Mapping[str, str]) -> int:
    """A command on the user's terminal; Ctrl-C ends it (and this) quietly."""
    try:
        return subprocess.run(list(command), env=dict(env)).returncode
    except KeyboardInterrupt:
        return 130
    except FileNotFoundError:
        raise Refused(f"{command[0]} is not installed (or not on PATH): install it to reach the stack's engine")


def restart(workloads, service: Wanted, status: Status, stack: str, say: Callable[[str], None]) -> int:
    if service.one_shot:
        raise Refused(f"{service.name} is a one-shot ({status.state}): it runs once per `make up` that makes it "
                      f"anew; `make logs S={service.name}` shows what it did")
    if status.state == "missing":
        raise Refused(f"{service.name} is missing from stack {stack}'s engine: `make up` makes it")
    for step in [*workloads.restart_commands(service), workloads.wait_command(service)]:
        if step is not None and run(step, workloads.env) != 0:
            return 1
    say(f"{service.name} restarted on the same data and configuration; the stack's state is unchanged")
    return 0


def act(args: argparse.Namespace, outputs: Mapping, env: Mapping[str, str], say: Callable[[str], None],
        terminal: bool) -> int:
    services = wanted_services(outputs)
    if not services:
        raise Refused(f"stack {args.stack} runs no services that it knows of: `make up STACK={args.stack}` first")
    workloads = workloads_of(outputs, args.project_dir, args.stack, env)
    workloads.reach()
    if args.command == "ps":
        statuses = workloads.statuses(services)
        for line in table(services, statuses, outputs) + [summary(services, statuses, workloads)]:
            say(line)
        return 0
    service = pick(services, args.service, args.stack, args.command)
    if args.command == "logs":
        return run(workloads.logs(service, args.lines, args.follow), workloads.env)
    status = workloads.statuses([service])[service.name]
    if args.command == "shell":
        if status.state != "running":
            raise Refused(f"{service.name} is not running ({status.state}): there is nothing to open a shell in")
        return run(workloads.shell(service, terminal), workloads.env)
    return restart(workloads, service, status, args.stack, say)


def main(argv: Optional[Sequence[str]] = None, env: Optional[Mapping[str, str]] = None,
         interactive: Optional[bool] = None, say: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["ps", "logs", "restart", "shell"])
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--service", default="")
    parser.add_argument("--follow", action="store_true")
    parser.add_argument("--lines", type=int, default=LINES)
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR)
    args = parser.parse_args(argv)
    env = dict(os.environ if env is None else env)
    interactive = sys.stdin.isatty() if interactive is None else interactive
    pulumi = find_pulumi(env)
    try:
        if pulumi is None:
            raise Refused("the Pulumi CLI is not installed: `make up` installs it")
        try:
            outputs = stack_outputs.read(args.stack, args.project_dir, env, interactive, show_secrets=False,
                                         pulumi=pulumi)
        except stack_outputs.OutputsError as problem:
            if not problem.missing:
                raise
            outputs = {}  # no stack, or never up: said as what it runs
        return act(args, outputs, env, say, terminal=interactive and sys.stdout.isatty())
    except (Refused, Unreachable, passphrase.NoPassphrase, stack_outputs.OutputsError) as problem:
        print(problem, file=sys.stderr)
        return 2


if __name__ == "__main__":
    from commands import entry
    entry.run(main)
