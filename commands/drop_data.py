#!/usr/bin/env python3
"""What `make drop-data` runs: deletes exactly one stack's data, after `make down`.

    drop_data.py [--stack NAME] [--yes] [--legacy] [--project-dir DIR]

A stack's data are its Docker volumes (or, with engine kubernetes, its claims), which
`make down` keeps. They are found on the engine the stack lives on (its `dockerHost`, or
its `kubeContext` and `namespace`, read as the CLI hands them to the program), by the
label the program gives each one, `dev.factorhouse.local.stack=<project>/<stack>` on
Docker, `factorhouse.local/stack=<project>.<stack>` on Kubernetes, and by name: only
those named as this stack's settings name its data (`<namePrefix>kafka-1-data`, ...)
are deleted, so another stack's data never is, whatever its prefix (none included).

1. Refuses, in one line, while the stack still has resources in its state, or
   containers (Kubernetes: workloads or pods of the platform) on the engine, or while
   anything uses one of the volumes: `make down` first.
2. Lists what it deletes, and what it leaves: a volume made before volumes carried their
   stack (no stack label) under a name of this stack's is not certainly this stack's (a
   stack of the same prefix on the same engine made it as well): named, deleted only
   with --legacy; one labelled as this stack's under another name (the stack's
   namePrefix changed) is named and left.
3. Asks before it deletes on a terminal; without one it deletes only with --yes, and
   without that refuses in one line. Nothing else is ever deleted: not a namespace, an
   image, another stack's volume.

Runs with the project's virtualenv (it reads the stack's settings as commands/recover.py
does). Exit status: 0 deleted (or nothing to delete), 1 declined or a deletion failed,
2 refused.

Its failure paths (a "no" at a prompt, a failed step, an engine or cluster that does not
answer), what the user sees of each, and the test that holds it: docs/commands.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))  # run as a script or imported

from commands import recover  # noqa: E402
from commands.pulumi_cli import find_pulumi  # noqa: E402
from settings import default_namespace, kubernetes_stack_label, stack_label  # noqa: E402

# Every data volume the program makes, without the prefix (the `data` of the services in
# stacks/; tests/test_drop_data.py holds this list to the program's, with every stack, in
# every Kafka mode and with each catalog)
DATA_VOLUMES = (
    "zookeeper-data", "zookeeper-log",
    "kafka-1-data", "kafka-2-data", "kafka-3-data",
    "kafka-1-kraft-data", "kafka-2-kraft-data", "kafka-3-kraft-data",
    "minio-data", "postgres-data",
    "prometheus-data", "grafana-data", "marquez-db-data", "redis-data",
    "clickhouse-data", "starrocks-fe-meta", "starrocks-be-storage", "cloudbeaver-workspace",
    "omt-db-data", "omt-es-data", "omt-ingestion-dags", "omt-ingestion-dag-configs",
)
DOCKER_LABEL = recover.LABEL  # engines/docker.py: `=data` on every data volume
KUBERNETES_LABEL = "factorhouse.local"  # engines/kubernetes.py: `=data` on every claim
PART_OF = "app.kubernetes.io/part-of=factorhouse-local"


class Refused(Exception):
    """The data cannot be dropped now (one line: why, and what to do)."""


@dataclass
class Found:
    """What one stack's data is on its engine."""

    where: str  # the engine, as the user knows it
    kind: str  # what one piece of data is called there: "volume", "claim"
    ours: list[str] = field(default_factory=list)  # this stack's label and name: deleted
    legacy: list[str] = field(default_factory=list)  # no stack label, this stack's name
    elsewhere: list[str] = field(default_factory=list)  # this stack's label, another name


def _count(count: int, kind: str) -> str:
    return f"{count} {kind}{'s' if count != 1 else ''}"


def _lines(text: str) -> list[str]:
    return sorted({line.strip() for line in text.splitlines() if line.strip()})


def _last_line(result) -> str:
    lines = (result.stderr or result.stdout or "").strip().splitlines()
    return lines[-1] if lines else f"exit {result.returncode}"


class DockerData:
    """A stack's data volumes on its Docker engine (the one its `dockerHost` names)."""

    kind = "volume"

    def __init__(self, stack: str, settings: Mapping[str, str], env: Mapping[str, str]):
        self.docker = recover.Docker(settings["dockerHost"], env)
        self.label = f"{DOCKER_LABEL}.stack={stack_label(stack)}"
        self.names = {settings["namePrefix"] + base for base in DATA_VOLUMES}
        self.where = f"the Docker engine at {self.docker.env['DOCKER_HOST']}" if self.docker.env.get("DOCKER_HOST") \
            else "the Docker engine of DOCKER_CONTEXT"

    def _list(self, *args: str) -> list[str]:
        result = self.docker(*args)
        if result.returncode != 0:
            raise Refused(f"{self.where} does not answer ({_last_line(result)}); start it, or fix the stack's "
                          "dockerHost, and run this again")
        return _lines(result.stdout)

    def running(self) -> list[str]:
        """The stack's containers, running or not."""
        return self._list("ps", "--all", "--filter", f"label={self.label}", "--format", "{{.Names}}")

    def find(self) -> Found:
        labelled = self._list("volume", "ls", "--quiet", "--filter", f"label={self.label}")
        data = self._list("volume", "ls", "--quiet", "--filter", f"label={DOCKER_LABEL}=data")
        any_stack = set(self._list("volume", "ls", "--quiet", "--filter", f"label={DOCKER_LABEL}.stack"))
        return Found(self.where, self.kind,
                     ours=[n for n in labelled if n in self.names],
                     legacy=[n for n in data if n in self.names and n not in any_stack],
                     elsewhere=[n for n in labelled if n not in self.names])

    def users(self, names: list[str]) -> dict[str, list[str]]:
        """volume -> the containers (of any stack) that use it."""
        found = {name: self._list("ps", "--all", "--filter", f"volume={name}", "--format", "{{.Names}}")
                 for name in names}
        return {name: users for name, users in found.items() if users}

    def remove(self, name: str):
        return self.docker("volume", "rm", name)

    def remove_hint(self) -> str:
        return f"{self.docker.cli} volume rm NAME"


class KubernetesData:
    """A stack's claims in its namespace, on the cluster its `kubeContext` names."""

    kind = "claim"

    def __init__(self, stack: str, settings: Mapping[str, str], env: Mapping[str, str]):
        self.env = env
        self.namespace = settings["namespace"] or default_namespace(stack)
        context = settings["kubeContext"]
        self.kubectl = ["kubectl", *(["--context", context] if context else []), "--namespace", self.namespace]
        self.label = f"{KUBERNETES_LABEL}/stack={kubernetes_stack_label(stack)}"
        self.where = f"namespace {self.namespace} of kubectl context {context or '(the current one)'}"

    def _run(self, *args: str):
        return recover.run_captured([*self.kubectl, *args], self.env)

    def _names(self, *args: str) -> list[str]:
        """The names that `kubectl get ... --output name` lists, without their kind."""
        result = self._run("get", *args, "--output", "name")
        if result.returncode != 0:
            raise Refused(f"kubectl cannot list {args[0]} in {self.where} ({_last_line(result)}); "
                          "fix the stack's kubeContext or namespace, and run this again")
        return [line.split("/", 1)[-1] for line in _lines(result.stdout)]

    def _namespace_exists(self) -> bool:
        """Whether the namespace exists; False only on the API server's own answer that it
        does not (`Error from server (NotFound): namespaces "NS" not found`), Refused on any
        other failure (a context kubeconfig does not name, a cluster that does not answer,
        a namespace the user may not read): those are not "no data"."""
        result = self._run("get", "namespace", self.namespace, "--output", "name")
        if result.returncode == 0:
            return True
        if f'(NotFound): namespaces "{self.namespace}" not found' in (result.stderr or ""):
            return False
        raise Refused(f"kubectl cannot reach {self.where} ({_last_line(result)}); fix the stack's kubeContext "
                      "(`kubectl config get-contexts` lists them) or start the cluster, and run this again")

    def running(self) -> list[str]:
        """The platform's workloads and pods in the namespace (kind/name)."""
        if not self._namespace_exists():
            return []
        result = self._run("get", "deployments,statefulsets,jobs,pods", "--selector", PART_OF, "--output", "name")
        if result.returncode != 0:
            raise Refused(f"kubectl cannot list the workloads of {self.where} ({_last_line(result)})")
        return _lines(result.stdout)

    def find(self) -> Found:
        found = Found(self.where, self.kind)
        if not self._namespace_exists():
            return found
        labelled = self._names("persistentvolumeclaims", "--selector", f"{KUBERNETES_LABEL}=data,{self.label}")
        unlabelled = self._names("persistentvolumeclaims", "--selector",
                                 f"{KUBERNETES_LABEL}=data,!{KUBERNETES_LABEL}/stack")
        found.ours = [n for n in labelled if n in DATA_VOLUMES]
        found.legacy = [n for n in unlabelled if n in DATA_VOLUMES]
        found.elsewhere = [n for n in labelled if n not in DATA_VOLUMES]
        return found

    def users(self, names: list[str]) -> dict[str, list[str]]:
        """claim -> the pods (of any owner) in the namespace that mount it."""
        result = self._run("get", "pods", "--output", "json")
        if result.returncode != 0:
            raise Refused(f"kubectl cannot list the pods of {self.where} ({_last_line(result)})")
        users: dict[str, list[str]] = {}
        for pod in json.loads(result.stdout or "{}").get("items", []):
            for volume in (pod.get("spec") or {}).get("volumes") or []:
                claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
                if claim in names:
                    users.setdefault(claim, []).append(pod["metadata"]["name"])
        return users

    def remove(self, name: str):
        return self._run("delete", "persistentvolumeclaim", name)

    def remove_hint(self) -> str:
        return f"{' '.join(self.kubectl)} delete persistentvolumeclaim NAME"


def delete(engine, names: list[str], say: Callable[[str], None]) -> bool:
    """Delete each one (DockerData or KubernetesData `remove`), saying so; whether all were."""
    ok = True
    for name in names:
        result = engine.remove(name)
        ok = ok and result.returncode == 0
        say(f"deleted {engine.kind} {name}" if result.returncode == 0 else
            f"{engine.kind} {name} was not deleted: {_last_line(result)}")
    return ok


def resources_in_state(stack: str, env: Mapping[str, str], project_dir: Path) -> int:
    """How many resources (not the stack itself, not a provider) the stack's state holds;
    0 when there is no such stack, or no Pulumi CLI to ask (the engine is asked too).
    Refused when the CLI cannot read the state (a backend that does not answer, a
    state it cannot parse): that is not "no resources"."""
    pulumi = find_pulumi(env)
    if pulumi is None:
        return 0
    exported = recover.run_captured([pulumi, "stack", "export", "--stack", stack], env, project_dir)
    if exported.returncode != 0 and "no stack named" in (exported.stderr or ""):
        return 0
    try:
        if exported.returncode != 0:
            raise ValueError(_last_line(exported))
        state = json.loads(exported.stdout)
    except ValueError as problem:  # json.JSONDecodeError is one
        raise Refused(f"pulumi cannot read stack {stack}'s state ({problem}); fix the state backend "
                      "(PULUMI_BACKEND_URL, or `pulumi login`), and run this again") from None
    return len([r for r in recover.in_state(state)
                if r.get("type") != "pulumi:pulumi:Stack" and not str(r.get("type", "")).startswith("pulumi:providers:")])


def check_stopped(stack: str, engine, env: Mapping[str, str], project_dir: Path) -> None:
    """Refused while the stack has anything but data: `make down` first."""
    down = f"`make down STACK={stack}` first, then this again"
    count = resources_in_state(stack, env, project_dir)
    if count:
        raise Refused(f"stack {stack} still has {_count(count, 'resource')} in its state: {down}")
    running = engine.running()
    if running:
        raise Refused(f"stack {stack} still has {', '.join(running)} on {engine.where}: {down}")


def report(stack: str, found: Found, targets: list[str], legacy: bool, hint: str, say: Callable[[str], None]) -> None:
    """Say what is deleted and what is left, and why."""
    if targets:
        say(f"Stack {stack}'s data on {found.where}, to be deleted ({_count(len(targets), found.kind)}): {', '.join(targets)}")
    if found.legacy and not legacy:
        say(f"Not deleted, as not certainly stack {stack}'s (made before {found.kind}s carried their stack, named as "
            f"this stack's): {', '.join(found.legacy)}; if they are, `make drop-data STACK={stack} LEGACY=1` "
            "deletes them too")
    if found.elsewhere:
        say(f"Not deleted, labelled stack {stack}'s but not named as its settings name its data (namePrefix changed?): "
            f"{', '.join(found.elsewhere)}; `{hint}` deletes one")


def confirm(stack: str, count: int, kind: str, yes: bool, interactive: bool, ask: Callable[[str], str]) -> bool:
    """Whether to delete: --yes, else the user's answer at a terminal; Refused without
    either."""
    if yes:
        return True
    if not interactive:
        raise Refused(f"Nothing deleted: there is no terminal to ask; `make drop-data STACK={stack} YES=1` "
                      f"(drop_data.py --yes) deletes the {_count(count, kind)} listed above")
    answer = ask(f"Delete the {_count(count, kind)} of stack {stack} listed above, with their data, for good? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def drop(stack: str, settings: Mapping[str, str], env: Mapping[str, str], project_dir: Path, yes: bool,
         legacy: bool, interactive: bool, ask: Callable[[str], str], say: Callable[[str], None]) -> int:
    engine = (KubernetesData if settings["engine"] == "kubernetes" else DockerData)(stack, settings, env)
    check_stopped(stack, engine, env, project_dir)
    found = engine.find()
    targets = sorted(found.ours + (found.legacy if legacy else []))
    used = engine.users(targets)
    if used:
        named = "; ".join(f"{name} by {', '.join(users)}" for name, users in sorted(used.items()))
        raise Refused(f"Nothing deleted: in use on {found.where}: {named}; `make down` the stack that uses them first")
    report(stack, found, targets, legacy, engine.remove_hint(), say)
    if not targets:
        say(f"Stack {stack} has no data to drop on {found.where}.")
        return 0
    if not confirm(stack, len(targets), found.kind, yes, interactive, ask):
        say("Nothing deleted.")
        return 1
    return 0 if delete(engine, targets, say) else 1


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None,
         ask: Callable[[str], str] | None = None, interactive: bool | None = None,
         say: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--yes", action="store_true", help="delete without asking (no terminal: required)")
    parser.add_argument("--legacy", action="store_true",
                        help="also delete volumes without a stack label that are named as this stack's")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR)
    args = parser.parse_args(argv)
    env = dict(os.environ if env is None else env)
    interactive = sys.stdin.isatty() if interactive is None else interactive
    settings = recover.stack_settings(args.project_dir, args.stack)
    try:
        return drop(args.stack, settings, env, args.project_dir, args.yes, args.legacy, interactive,
                    ask or input, say)
    except Refused as refused:
        print(refused, file=sys.stderr)
        return 2


if __name__ == "__main__":
    from commands import entry
    entry.run(main)
