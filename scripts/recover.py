"""What an interrupted or failed run left behind, found and put right before the next
`make up`, `make preview` or `make down` (scripts/stack.py runs it), one line each:

1. A lock of the stack (local state backend) left by a `pulumi` that no longer runs on
   this machine is released. A lock of a `pulumi` that runs, or of another machine, is
   left alone and named (`pulumi cancel` removes it).
2. Objects an interrupted run made on the engine but never wrote to the state (a
   "pending create"; also a state lost or restored from a backup) are removed, when
   they are certainly this stack's: a Docker container carrying the label
   `dev.factorhouse.local.stack=<project>/<stack>`, this stack's network with no
   container on it, a Kubernetes object of the namespace made by this program. The retry
   makes them again. A data volume or claim is never touched (data stays; the next run
   takes it back). An object of that name that is not certainly ours is left alone and
   named.
3. Before an `up`: a one-shot container (the bucket set-up) that exited non-zero is
   removed, so that the run makes it again (with the cause fixed).
4. Pending operations are cleared from the state (`pulumi stack export`, then
   `pulumi stack import` of it without them), so that Pulumi neither warns about them nor
   tries to make what exists.

Standard library only, but PyYAML to read the stack's settings.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, Mapping, Optional

import yaml

PROJECT = "factorhouse-local"
LABEL = "dev.factorhouse.local"
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


def _run(command: list[str], env: Mapping[str, str], cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True)


# -- 1. locks ---------------------------------------------------------------------------

def lock_files(state_folder: Path, stack: str) -> list[Path]:
    """The stack's lock files in a local (file://) backend."""
    locks = state_folder / ".pulumi" / "locks"
    return sorted([*(locks / "organization" / PROJECT / stack).glob("*.json"), *(locks / stack).glob("*.json")])


def pulumi_runs(pid: int) -> bool:
    """Whether process `pid` runs here and is a pulumi (not a pid reused by another program)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it runs, as another user
    result = subprocess.run(["ps", "-p", str(pid), "-o", "comm="], capture_output=True, text=True)
    return result.returncode == 0 and "pulumi" in result.stdout


def release_locks(state_folder: Path, stack: str, say: Callable[[str], None]) -> None:
    for path in lock_files(state_folder, stack):
        try:
            lock = json.loads(path.read_text())
            pid, host, user, when = int(lock["pid"]), lock.get("hostname", ""), lock.get("username", "?"), \
                lock.get("timestamp", "?")
        except (OSError, ValueError, KeyError, TypeError):
            say(f"left alone: lock {path} cannot be read; if no pulumi runs on stack {stack}, "
                f"`pulumi cancel --stack {stack}` removes it")
            continue
        if host != socket.gethostname():
            raise Stop(f"stack {stack} is locked by {user}@{host} (pid {pid}, since {when}), another machine; "
                       f"if no pulumi runs there any more, `pulumi cancel --stack {stack}` removes the lock")
        if pulumi_runs(pid):
            raise Stop(f"stack {stack} is in use by pulumi (pid {pid}, since {when}) on this machine; "
                       "wait for it to end, or end it, and run this again")
        path.unlink()
        say(f"recovered: released the lock of a pulumi that ended (pid {pid}, since {when})")


# -- 2-4. the state and the engine -------------------------------------------------------

def stack_settings(project_dir: Path, stack: str) -> dict[str, object]:
    """The stack's own settings (Pulumi.<stack>.yaml), without the project prefix."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        return {}
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    return {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith(f"{PROJECT}:")}


def in_state(state: dict) -> list[dict]:
    return (state.get("deployment") or {}).get("resources") or []


def pending(state: dict) -> list[dict]:
    return (state.get("deployment") or {}).get("pending_operations") or []


def _name(resource: dict) -> str:
    for part in ("outputs", "inputs"):
        name = (resource.get(part) or {}).get("name")
        if isinstance(name, str) and name:
            return name.lstrip("/")
    return ""


class Docker:
    """The stack's Docker engine, through the docker CLI."""

    def __init__(self, host: str, env: Mapping[str, str]):
        self.env = {**env, "DOCKER_HOST": host} if host else dict(env)
        self.cli = f"docker -H {host}" if host else "docker"

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        return _run(["docker", *args], self.env)

    def answers(self) -> bool:
        return self("version", "--format", "{{.Server.Version}}").returncode == 0

    def labels(self, kind: str, name: str) -> Optional[dict[str, str]]:
        """The labels of a container or network of that name, None when there is none."""
        found = self(kind, "inspect", "--format", "{{json .Config.Labels}}" if kind == "container"
                     else "{{json .Labels}}", name)
        return (json.loads(found.stdout) or {}) if found.returncode == 0 else None


def recover_docker(state: dict, stack: str, settings: dict, env: Mapping[str, str], action: str,
                   say: Callable[[str], None]) -> None:
    docker = Docker(str(settings.get("dockerHost") or ""), env)
    if not docker.answers():
        return  # the program says, in one line, that the engine does not answer
    ours = f"{PROJECT}/{stack}"
    known = {_name(r) for r in in_state(state) if r.get("type") == CONTAINER}
    listed = docker("ps", "-a", "--filter", f"label={LABEL}.stack={ours}", "--format", "{{.Names}}")
    for name in sorted(set(listed.stdout.split()) - known):
        if docker("rm", "--force", name).returncode == 0:
            say(f"recovered: removed container {name}: this stack's, but not in its state (left by an "
                "interrupted run); this run makes it again")
    for operation in pending(state):
        resource = operation.get("resource") or {}
        name = _name(resource)
        if operation.get("type") != "creating" or not name or name in known:
            continue
        if resource.get("type") == CONTAINER:
            labels = docker.labels("container", name)
            if labels is not None and labels.get(f"{LABEL}.stack") != ours:
                say(f"left alone: container {name} exists and is not this stack's; remove or rename it "
                    f"(`{docker.cli} rm -f {name}`), or give this stack another namePrefix")
        elif resource.get("type") == NETWORK:
            labels = docker.labels("network", name)
            if labels is None:
                continue
            attached = docker("network", "inspect", "--format", "{{len .Containers}}", name).stdout.strip()
            if labels.get(LABEL) == "network" and attached == "0":
                if docker("network", "rm", name).returncode == 0:
                    say(f"recovered: removed network {name}: made by an interrupted run, not in the state")
            else:
                say(f"left alone: network {name} exists and is not certainly this stack's (or has containers); "
                    f"remove it (`{docker.cli} network rm {name}`) or give this stack another namePrefix")
    if action != "up":
        return
    for resource in in_state(state):
        inputs, outputs = resource.get("inputs") or {}, resource.get("outputs") or {}
        code = outputs.get("exitCode")
        if resource.get("type") == CONTAINER and inputs.get("attach") and code not in (None, 0):
            name = _name(resource)
            labels = docker.labels("container", name)
            if labels is not None and labels.get(f"{LABEL}.stack") == ours and \
                    docker("rm", "--force", name).returncode == 0:
                say(f"recovered: removed {name}, which exited with code {int(code)}; this run runs it again")


def recover_kubernetes(state: dict, stack: str, settings: dict, env: Mapping[str, str],
                       say: Callable[[str], None]) -> None:
    from stacks.settings import default_namespace
    context = str(settings.get("kubeContext") or "")
    namespace = str(settings.get("namespace") or default_namespace(stack))
    kubectl = ["kubectl", *(["--context", context] if context else []), "--namespace", namespace]
    for operation in pending(state):
        resource = operation.get("resource") or {}
        kind = KUBERNETES_KINDS.get(resource.get("type", ""))
        name = ((resource.get("inputs") or {}).get("metadata") or {}).get("name")
        if operation.get("type") != "creating" or not kind or not name:
            continue
        found = _run([*kubectl, "get", kind, name, "--output", "jsonpath={.metadata.labels}"], env)
        if found.returncode != 0:
            continue
        labels = json.loads(found.stdout or "{}")
        if labels.get("app.kubernetes.io/part-of") == PROJECT:
            if _run([*kubectl, "delete", kind, name, "--wait=true"], env).returncode == 0:
                say(f"recovered: removed {kind} {name} of namespace {namespace}: made by an interrupted run, "
                    "not in the state")
        else:
            say(f"left alone: {kind} {name} exists in namespace {namespace} and is not this platform's; remove it "
                f"(`{' '.join(kubectl)} delete {kind} {name}`) or use another namespace")


def clear_pending(pulumi: str, stack: str, state: dict, env: Mapping[str, str], cwd: Path,
                  say: Callable[[str], None]) -> None:
    count = len(pending(state))
    state = {**state, "deployment": {**state["deployment"], "pending_operations": []}}
    with tempfile.TemporaryDirectory(prefix="recover-") as tmp:
        path = Path(tmp) / "state.json"
        path.write_text(json.dumps(state))
        # the user's terminal: the CLI may ask for the stack's passphrase
        result = subprocess.run([pulumi, "stack", "import", "--stack", stack, "--file", str(path)],
                                env=dict(env), cwd=cwd)
    if result.returncode != 0:
        raise Stop(f"the {count} pending operations of an interrupted run could not be cleared "
                   f"(pulumi stack import exited {result.returncode}); see above")
    say(f"recovered: cleared {count} pending operation{'s' if count != 1 else ''} of an interrupted run")


def recover(action: str, pulumi: str, stack: str, env: Mapping[str, str], project_dir: Path,
            state_folder: Optional[Path], say: Callable[[str], None] = print) -> None:
    """Put right what an interrupted or failed run left; Stop when only the user can."""
    if state_folder is not None:
        release_locks(state_folder, stack, say)
    exported = _run([pulumi, "stack", "export", "--stack", stack], env, project_dir)
    if exported.returncode != 0:
        return  # no such stack yet: nothing to put right
    try:
        state = json.loads(exported.stdout)
    except json.JSONDecodeError:
        return
    settings = stack_settings(project_dir, stack)
    if settings.get("engine") == "kubernetes":
        recover_kubernetes(state, stack, settings, env, say)
    else:
        recover_docker(state, stack, settings, env, action, say)
    if pending(state):
        clear_pending(pulumi, stack, state, env, project_dir, say)
