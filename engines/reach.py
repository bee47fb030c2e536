"""Before any plan: the engine the settings name is reached, and is the one this stack's
resources live on.

- `reach` asks the engine who it is: the Docker engine's ID (`docker info`, at
  `dockerHost`), or the cluster's (the uid of its `kube-system` namespace, at
  `kubeContext`). No answer stops the run at once, with one line naming the address and
  the cause, before Pulumi plans anything (a preview would otherwise plan against an
  engine it never reached, and a failed `up` would save the dead address in the state).
- `check_same` compares it with the engine the stack's last `up` ran on (its `engine`
  output): a stack's containers, volumes and images live on one engine and cannot move,
  so pointing an existing stack at another one is refused, saying how to move.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Optional

import pulumi

from scripts.dockerenv import docker_env
from settings import Settings

TIMEOUT = 30  # seconds an engine gets to answer (an ssh:// host: its connection too)


class EngineUnreachable(pulumi.RunError):
    """No engine answers at the address the settings name (one line, no traceback)."""


class EngineChanged(pulumi.RunError):
    """The settings name another engine than the one the stack's resources live on."""


@dataclass(frozen=True)
class Identity:
    kind: str  # docker or kubernetes
    id: str  # the engine's own: a Docker engine's ID, a cluster's kube-system uid
    address: str  # as the user names it: dockerHost; the kubeconfig context (the current one, named)

    def output(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.id, "address": self.address}


def _cause(stderr: str) -> str:
    """The line of an error output that says what went wrong (not a warning or notice)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    useful = [line for line in lines if not line.lower().startswith(("warning", "deprecated", "notice"))]
    cause = (useful or lines or ["no output"])[-1]
    # an ssh:// engine: the docker CLI wraps ssh's own error, which is the cause
    if "stderr=" in cause:
        cause = cause.split("stderr=", 1)[1].strip() or cause
    return cause if len(cause) <= 300 else "..." + cause[-297:]


def _ask(command: list[str], env: dict[str, str]) -> tuple[Optional[str], str]:
    """(stdout, "") or (None, why not)."""
    if shutil.which(command[0]) is None:
        return None, f"the {command[0]} command is not on PATH"
    try:
        result = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, f"no answer within {TIMEOUT}s"
    if result.returncode != 0 or not result.stdout.strip():
        return None, _cause(result.stderr)
    return result.stdout.strip(), ""


def reach(settings: Settings) -> Identity:
    """Who the engine the settings name is; EngineUnreachable when it does not answer."""
    env = dict(os.environ)
    if settings.engine == "kubernetes":
        hint = ("name a context that reaches one (`pulumi config set kubeContext NAME`; "
                "`kubectl config get-contexts` lists them)")
        context = settings.kube_context
        where = f"kubeContext {context}"
        if not context:
            context, why = _ask(["kubectl", "config", "current-context"], env)
            if context is None:
                raise EngineUnreachable(f"kubeContext is empty and no kubeconfig context is current ({why}); {hint}")
            where = f"the current kubeconfig context {context}"
        command = ["kubectl", "--context", context, "get", "namespace", "kube-system",
                   "--output", "jsonpath={.metadata.uid}", f"--request-timeout={TIMEOUT}s"]
        answer, why = _ask(command, env)
        if answer is None:
            raise EngineUnreachable(f"{where}: no Kubernetes cluster answers ({why}); start the cluster or {hint}")
        return Identity("kubernetes", answer, context)
    host = settings.docker_host
    if host:
        env["DOCKER_HOST"] = host
        env.pop("DOCKER_CONTEXT", None)
    env = docker_env(env)  # as the provider reaches it: not `docker context use`
    address = env.get("DOCKER_HOST") or f"context {env.get('DOCKER_CONTEXT')}"
    where = f"dockerHost {host}" if host else f"the default Docker engine ({address})"
    answer, why = _ask(["docker", "info", "--format", "{{.ID}}"], env)
    if answer is not None and _ask(["docker", "info", "--format", "{{.ID}}"], env)[0] == answer:
        return Identity("docker", answer, host or address)
    # an engine without an ID of its own (Podman gives a new one every time, or none):
    # known by its address only
    if _ask(["docker", "version", "--format", "{{.Server.Version}}"], env)[0] is not None:
        return Identity("docker", f"address {host or address}", host or address)
    raise EngineUnreachable(
        f"{where}: no Docker engine answers ({why}); start it, or point dockerHost at one that runs "
        f"(`pulumi config set dockerHost ADDRESS`)")


def check_same(now: Identity, before: Optional[dict]) -> None:
    """EngineChanged when the stack's last `up` ran on another engine."""
    if not before or (before.get("id") in (None, now.id) and before.get("kind") in (None, now.kind)):
        return
    was = f"{before.get('kind')} engine {before.get('id')} at {before.get('address')}"
    setting = "dockerHost" if before.get("kind") == "docker" else "kubeContext"
    raise EngineChanged(
        f"this stack's resources live on the {was}, but the settings now reach {now.kind} engine {now.id} at "
        f"{now.address}; they cannot move. Either set {setting} (and engine) back and run `make down` there first "
        f"(its data stays there), then `make up` here; or leave this stack as it is and make a new one for the "
        f"other engine (`pulumi stack init NAME`)")


def own_stack_name() -> str:
    """This stack's name as a StackReference takes it: bare on a self-managed backend
    (whose older layout takes no other form), org/project/stack on Pulumi Cloud."""
    organization = pulumi.get_organization()
    if organization in ("", "organization"):  # a self-managed (file://, bucket) backend
        return pulumi.get_stack()
    return f"{organization}/{pulumi.get_project()}/{pulumi.get_stack()}"


def previous() -> Optional[dict]:
    """The `engine` output of the stack's last `up` (None before the first one). Read
    at the top of the program, before any resource, so waiting for it here (as a
    synchronous invoke waits) holds nothing up."""
    from pulumi.runtime.sync_await import _sync_await
    reference = pulumi.StackReference("engine-of-last-up", stack_name=own_stack_name())
    details = _sync_await(reference.get_output_details("engine"))
    value = details.value if details.value is not None else details.secret_value
    return value if isinstance(value, dict) else None
