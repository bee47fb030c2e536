"""What an interrupted or failed run left behind, found and put right before the next
`make up` or `make down` (commands/stack.py runs it), one line each; before `make preview`
only found and named (a preview changes nothing):

1. A lock of the stack (local state backend) left by a `pulumi` that no longer runs on
   this machine is released. A lock of a `pulumi` that runs (or may run: when in doubt,
   it runs), or of another machine, stops the run, named (`pulumi cancel` removes it). On
   another backend, an update in progress stops the run.
2. What an interrupted run made on the engine but never wrote to the state (a "pending
   create", also of a replacement interrupted after its delete) is removed when it is
   certainly this stack's: a Docker container of that name whose id the state does not
   hold and that carries this stack's label `dev.factorhouse.local.stack`; this stack's
   network with no container on it; a Kubernetes object of that name labelled as the
   platform's. The retry makes them again. Nothing else is touched: never a data volume
   or claim, never an object the state does not name as being made. One of that name that
   is not certainly ours is left alone and named.
3. Before an `up`: the one-shot container (the bucket set-up) that the state holds as
   exited non-zero is removed, so that the run makes it again (with the cause fixed).
4. Pending operations are cleared from the state (`pulumi stack export`, then
   `pulumi stack import` of it without them), so that Pulumi neither warns about them nor
   tries to make what exists.

Runs with the project's virtualenv (it reads the stack's settings with PyYAML and the
program's own names).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

from scripts.dockerenv import docker_cli, docker_env
from settings import PROJECT, cli_config, default_namespace, stack_label

LABEL = "dev.factorhouse.local"  # as engines/docker.py labels containers and the network
CONTAINER = "docker:index/container:Container"
NETWORK = "docker:index/network:Network"
# Kubernetes objects that a retry makes again (the namespace and claims are kept objects,
# which the program takes back as they are)
KUBERNETES_KINDS = {
    "kubernetes:apps/v1:Deployment": "deployment",
    "kubernetes:batch/v1:Job": "job",
    "kubernetes:core/v1:Service": "service",
    "kubernetes:core/v1:ConfigMap": "configmap",
    "kubernetes:core/v1:Secret": "secret",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": "networkpolicy",
}


class Stop(Exception):
    """Something only the user can settle: the run must not go on (one line)."""


@dataclass
class Report:
    """Says what was found; `act`: also puts it right (not in a preview)."""

    act: bool
    say: Callable[[str], None]

    def fixed(self, done: str, found: str) -> None:
        self.say(f"recovered: {done}" if self.act else f"found: {found}; `make up` puts it right")


def run_captured(command: Sequence[str], env: Mapping[str, str],
                 cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
    """A command's result, its output captured, no input; a command that is not installed
    fails as a command would (127)."""
    try:
        return subprocess.run(list(command), env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True)
    except FileNotFoundError as error:
        return subprocess.CompletedProcess(command, 127, "", str(error))


# -- 1. locks ---------------------------------------------------------------------------

def lock_files(state_folder: Path, stack: str) -> list[Path]:
    """The stack's lock files in a local (file://) backend, of both of its layouts."""
    locks = state_folder / ".pulumi" / "locks"
    return sorted([*(locks / "organization" / PROJECT / stack).glob("*.json"), *(locks / stack).glob("*.json")])


def pulumi_may_run(pid: int) -> bool:
    """False only when process `pid` certainly is no pulumi: it does not exist, or it
    runs another program (its pid reused)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it runs, as another user
    comm = Path(f"/proc/{pid}/comm")
    try:
        name = comm.read_text().strip() if comm.exists() else \
            subprocess.run(["ps", "-o", "comm=", "-p", str(pid)], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return True  # cannot tell: it may be one
    return os.path.basename(name.strip()) == "pulumi"


def release_locks(state_folder: Path, stack: str, report: Report) -> None:
    for path in lock_files(state_folder, stack):
        try:
            lock = json.loads(path.read_text())
            pid, host, user, when = int(lock["pid"]), lock.get("hostname", ""), lock.get("username", "?"), \
                lock.get("timestamp", "?")
        except (OSError, ValueError, KeyError, TypeError):
            raise Stop(f"lock {path} cannot be read; if no pulumi runs on stack {stack}, "
                       f"`pulumi cancel --stack {stack}` removes it")
        problem = None
        if host != socket.gethostname():
            problem = (f"stack {stack} is locked by {user}@{host} (pid {pid}, since {when}), another machine; "
                       f"if no pulumi runs there any more, `pulumi cancel --stack {stack}` removes the lock")
        elif pulumi_may_run(pid):
            problem = (f"stack {stack} is in use by pulumi (pid {pid}, since {when}) on this machine; "
                       "wait for it to end, or end it, and run this again")
        if problem and report.act:
            raise Stop(problem)
        if problem:  # a preview takes no lock: it goes on
            report.say(f"found: {problem}")
            continue
        if report.act:
            path.unlink()
        report.fixed(f"released the lock of a pulumi that ended (pid {pid}, since {when})",
                     f"a lock of a pulumi that ended (pid {pid}, since {when})")


def update_in_progress(pulumi: str, stack: str, env: Mapping[str, str], cwd: Path) -> bool:
    """On a backend that is not a local folder: whether an update of the stack runs."""
    listed = run_captured([pulumi, "stack", "ls", "--json"], env, cwd)
    try:
        stacks = json.loads(listed.stdout) if listed.returncode == 0 else []
    except json.JSONDecodeError:
        return False
    return any(s.get("name", "").split("/")[-1] == stack and s.get("updateInProgress") for s in stacks)


# -- 2-4. the state and the engine -------------------------------------------------------

def stack_settings(project_dir: Path, stack: str) -> dict[str, str]:
    """The settings the program of this stack runs with, without the project prefix, as
    the CLI hands them to it: Pulumi.yaml's defaults, then what Pulumi.<stack>.yaml sets
    (a key the stack file leaves out is at its default, never "unset")."""
    prefix = f"{PROJECT}:"
    return {key[len(prefix):]: value for key, value in cli_config(project_dir, stack).items()
            if key.startswith(prefix)}


def in_state(state: dict) -> list[dict]:
    return (state.get("deployment") or {}).get("resources") or []


def pending(state: dict) -> list[dict]:
    return (state.get("deployment") or {}).get("pending_operations") or []


def pending_creates(state: dict, kind: str) -> list[dict]:
    return [op["resource"] for op in pending(state)
            if op.get("type") == "creating" and (op.get("resource") or {}).get("type") == kind]


def resource_name(resource: dict) -> str:
    """The name a resource of the state gives its object on the engine (a container's, a
    network's: its outputs', else its inputs' `name`, without Docker's leading `/`); "" without one."""
    for part in ("outputs", "inputs"):
        name = (resource.get(part) or {}).get("name")
        if isinstance(name, str) and name:
            return name.lstrip("/")
    return ""


class Docker:
    """The stack's Docker engine, through the docker CLI, as the provider reaches it."""

    def __init__(self, host: str, env: Mapping[str, str]):
        self.env = docker_env({**env, "DOCKER_HOST": host} if host else env)
        self.cli = docker_cli(self.env)

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        return run_captured(["docker", *args], self.env)

    def answers(self) -> bool:
        return self("version", "--format", "{{.Server.Version}}").returncode == 0

    def inspect(self, kind: str, name: str) -> Optional[dict]:
        """Id, labels (and attached containers of a network) of one of that name, or None."""
        template = ('{"id": {{json .Id}}, "labels": {{json .Config.Labels}}}' if kind == "container" else
                    '{"id": {{json .Id}}, "labels": {{json .Labels}}, "containers": {{len .Containers}}}')
        found = self(kind, "inspect", "--format", template, name)
        if found.returncode != 0:
            return None
        info = json.loads(found.stdout)
        info["labels"] = info.get("labels") or {}
        return info


def recover_docker(state: dict, stack: str, settings: dict, env: Mapping[str, str], action: str,
                   report: Report) -> None:
    docker = Docker(settings["dockerHost"], env)
    if not docker.answers():
        return  # the program says, in one line, that the engine does not answer
    ours = stack_label(stack)
    # what the state holds as made (a replacement interrupted after its delete keeps
    # the old container, marked, whose id is gone)
    made = {r.get("id"): r for r in in_state(state) if r.get("type") == CONTAINER and not r.get("pendingReplacement")}
    for resource in pending_creates(state, CONTAINER):
        name = resource_name(resource)
        found = docker.inspect("container", name) if name else None
        if found is None or found["id"] in made:
            continue
        if found["labels"].get(f"{LABEL}.stack") != ours:
            report.say(f"left alone: container {name} exists and is not this stack's; remove or rename it "
                       f"(`{docker.cli} rm -f {name}`), or give this stack another namePrefix")
        elif not report.act or docker("rm", "--force", found["id"]).returncode == 0:
            report.fixed(f"removed container {name}: made by an interrupted run, not in the state; this run "
                         "makes it again", f"container {name}, made by an interrupted run, not in the state")
    for resource in pending_creates(state, NETWORK):
        name = resource_name(resource)
        found = docker.inspect("network", name) if name else None
        if found is None or found["id"] in {r.get("id") for r in in_state(state) if r.get("type") == NETWORK}:
            continue
        if found["labels"].get(LABEL) != "network" or found["containers"]:
            report.say(f"left alone: network {name} exists and is not certainly this stack's (or has containers); "
                       f"remove it (`{docker.cli} network rm {name}`) or give this stack another namePrefix")
        elif not report.act or docker("network", "rm", found["id"]).returncode == 0:
            report.fixed(f"removed network {name}: made by an interrupted run, not in the state",
                         f"network {name}, made by an interrupted run, not in the state")
    if action != "up":
        return
    for container_id, resource in made.items():
        code = (resource.get("outputs") or {}).get("exitCode")
        if not (resource.get("inputs") or {}).get("attach") or code in (None, 0):
            continue
        name = resource_name(resource)
        found = docker.inspect("container", name)
        if found and found["id"] == container_id and found["labels"].get(f"{LABEL}.stack") == ours \
                and docker("rm", "--force", container_id).returncode == 0:
            report.say(f"recovered: removed {name}, which exited with code {int(code)}; this run runs it again")


def recover_kubernetes(state: dict, stack: str, settings: dict, env: Mapping[str, str], report: Report) -> None:
    context = settings["kubeContext"]
    namespace = settings["namespace"] or default_namespace(stack)
    kubectl = ["kubectl", *(["--context", context] if context else []), "--namespace", namespace]
    for kind_type, kind in KUBERNETES_KINDS.items():
        for resource in pending_creates(state, kind_type):
            name = ((resource.get("inputs") or {}).get("metadata") or {}).get("name")
            found = run_captured([*kubectl, "get", kind, name, "--output", "jsonpath={.metadata.labels}"],
                                 env) if name else None
            if found is None or found.returncode != 0:
                continue
            if json.loads(found.stdout or "{}").get("app.kubernetes.io/part-of") != PROJECT:
                report.say(f"left alone: {kind} {name} exists in namespace {namespace} and is not this platform's; "
                           f"remove it (`{' '.join(kubectl)} delete {kind} {name}`) or use another namespace")
            elif not report.act or run_captured([*kubectl, "delete", kind, name, "--wait=true"], env).returncode == 0:
                report.fixed(f"removed {kind} {name} of namespace {namespace}: made by an interrupted run, "
                             "not in the state", f"{kind} {name}, made by an interrupted run, not in the state")


def clear_pending(pulumi: str, stack: str, state: dict, env: Mapping[str, str], cwd: Path, report: Report) -> None:
    count = len(pending(state))
    what = f"{count} pending operation{'s' if count != 1 else ''} of an interrupted run"
    if report.act:
        state = {**state, "deployment": {**state["deployment"], "pending_operations": []}}
        with tempfile.TemporaryDirectory(prefix="recover-") as tmp:
            path = Path(tmp) / "state.json"
            path.write_text(json.dumps(state))
            # the user's terminal: the CLI may ask for the stack's passphrase
            result = subprocess.run([pulumi, "stack", "import", "--stack", stack, "--file", str(path)],
                                    env=dict(env), cwd=cwd)
        if result.returncode != 0:
            raise Stop(f"the {what} could not be cleared (pulumi stack import exited {result.returncode}); see above")
    report.fixed(f"cleared {what}", what)


def recover(action: str, pulumi: str, stack: str, env: Mapping[str, str], project_dir: Path,
            state_folder: Optional[Path], say: Callable[[str], None] = print) -> None:
    """Put right what an interrupted or failed run left (in a preview: say what);
    Stop when only the user can."""
    report = Report(act=action != "preview", say=say)
    if state_folder is not None:
        release_locks(state_folder, stack, report)
    elif report.act and update_in_progress(pulumi, stack, env, project_dir):
        raise Stop(f"an update of stack {stack} is in progress (on another machine, or in CI); wait for it, "
                   f"or if it no longer runs, `pulumi cancel --stack {stack}`")
    exported = run_captured([pulumi, "stack", "export", "--stack", stack], env, project_dir)
    if exported.returncode != 0:
        return  # no such stack yet: nothing to put right
    try:
        state = json.loads(exported.stdout)
    except json.JSONDecodeError:
        return
    settings = stack_settings(project_dir, stack)
    if settings["engine"] == "kubernetes":
        recover_kubernetes(state, stack, settings, env, report)
    else:
        recover_docker(state, stack, settings, env, action, report)
    if pending(state):
        clear_pending(pulumi, stack, state, env, project_dir, report)
