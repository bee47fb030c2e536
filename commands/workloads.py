"""A stack's services on the engine that runs them, for `make ps`, `make logs`,
`make restart` and `make shell` (commands/daytoday.py): the same four questions, asked
of a Docker engine with the docker CLI or of a Kubernetes namespace with kubectl.

- Docker: the containers labelled `dev.factorhouse.local.stack=<project>/<stack>` (as
  engines/docker.py labels them; the label `dev.factorhouse.local` names the service),
  on the engine the stack's `dockerHost` names, reached as the provider reaches it
  (scripts/dockerenv.py).
- Kubernetes: the pods labelled `app.kubernetes.io/part-of=factorhouse-local` (the label
  `app.kubernetes.io/name` names the service) in the stack's namespace, on the context
  its `up` ran on (`kubectl --context CONTEXT --namespace NAMESPACE`).

A restart keeps the stack's state true (docs/engine.md, "Day to day"): on Docker the
same container is stopped and started (`docker restart`), on Kubernetes the Deployment
rolls out a new pod of the same template (`kubectl rollout restart`, strategy Recreate:
the old pod is gone before the new one starts on the same claims); both then wait until
the service's own health check passed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping, Optional, Sequence

from commands import recover
from commands.recover import run_captured as _run
from scripts import wait_healthy
from scripts.dockerenv import docker_cli, docker_env
from settings import PROJECT
from stacks.service import HealthCheck

DOCKER_LABEL = recover.LABEL  # as engines/docker.py labels containers
KUBERNETES_NAME = "app.kubernetes.io/name"  # as engines/kubernetes.py labels pods
KUBERNETES_PART_OF = f"app.kubernetes.io/part-of={PROJECT}"
STOP_SECONDS = 30  # a container's time to stop cleanly, as on destroy (engines/docker.py) and on Kubernetes
START_SECONDS = 1200  # how long a new pod may take, as `make up` waits (engines/kubernetes.py)
WAIT_HEALTHY = Path(__file__).resolve().parent.parent / "scripts" / "wait_healthy.py"
# a shell inside the service: the image's own bash, else its sh
SHELL = ["/bin/sh", "-c", "if command -v bash >/dev/null 2>&1; then exec bash; fi; exec sh"]


class Unreachable(Exception):
    """The engine does not answer, or is not the one the stack runs on (one line)."""


@dataclass(frozen=True)
class Wanted:
    """A service the stack runs, as its `services` output says."""

    name: str
    stack: str
    workload: str  # the Docker container's name, the Deployment's or Job's
    one_shot: bool
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class Status:
    """How a service runs now. `ok`: as the stack should run it (running, and healthy when
    it has a check; a one-shot completed). `lags`: healthy by its own check, run just
    now as `make up`'s health gate runs it, while Docker's status still says `starting`
    (Docker runs its next check up to one interval later)."""

    state: str  # running, completed, missing, exited (1), failed (exit 1), CrashLoopBackOff, ...
    health: str  # healthy, unhealthy, starting, not ready, "-" (no check)
    restarts: Optional[int]
    ok: bool
    lags: bool = False

    @property
    def made_by_up(self) -> bool:
        """Whether `make up` puts it right: a service missing, stopped or a failed one-shot
        (not one that runs and is not healthy yet, or not at all)."""
        return self.state in ("missing", "created", "dead") or self.state.startswith(("exited", "failed"))


MISSING = Status("missing", "-", None, False)
LAGGING = "healthy (check passed; Docker's status: starting)"


def _cause(result: subprocess.CompletedProcess) -> str:
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else f"exit {result.returncode}"


def one_shot_status(finished: bool, exit_code: Optional[int], running_state: str) -> Status:
    """A one-shot: completed when it exited with 0, failed otherwise, else still running."""
    if not finished:
        return Status(running_state, "-", None, running_state == "running")
    if exit_code == 0:
        return Status("completed", "-", None, True)
    return Status(f"failed (exit {exit_code})", "-", None, False)


# -- Docker ----------------------------------------------------------------------------

def container_status(container: dict, one_shot: bool) -> Status:
    """A service's status from its container (`docker inspect`)."""
    state = container.get("State") or {}
    status = state.get("Status", "unknown")
    if one_shot:
        return one_shot_status(status in ("exited", "dead"), state.get("ExitCode"), status)
    health = (state.get("Health") or {}).get("Status")
    if status == "exited":
        status = f"exited ({state.get('ExitCode')})"
    elif state.get("Restarting"):
        status = "restarting"
    return Status(status, health or "-", container.get("RestartCount"),
                  status == "running" and health in (None, "healthy"))


class DockerWorkloads:
    """The stack's containers on its Docker engine (`dockerHost`, else as the provider
    goes: DOCKER_HOST, else the local socket)."""

    kind = "docker"

    def __init__(self, project_stack: str, docker_host: str, engine: Mapping[str, str], env: Mapping[str, str]):
        self.label = f"{DOCKER_LABEL}.stack={project_stack}"
        self.env = docker_env({**env, "DOCKER_HOST": docker_host} if docker_host else env)
        self.engine = dict(engine)  # the stack's `engine` output: the one its `up` ran on
        self.cli = docker_cli(self.env)

    def docker(self, *args: str) -> list[str]:
        return ["docker", *args]

    def reach(self) -> None:
        """Unreachable unless the engine answers and is the stack's."""
        answer = _run(self.docker("info", "--format", "{{.ID}}"), self.env)
        where = self.env.get("DOCKER_HOST") or f"context {self.env.get('DOCKER_CONTEXT')}"
        if answer.returncode == 127 and "No such file" in answer.stderr:
            raise Unreachable("docker is not installed (or not on PATH): install it to reach the stack's engine")
        if answer.returncode != 0:
            raise Unreachable(f"the Docker engine at {where} does not answer ({_cause(answer)}); start it, "
                              "or point dockerHost at the stack's engine")
        wanted = str(self.engine.get("id", ""))
        if wanted and not wanted.startswith("address ") and answer.stdout.strip() != wanted:
            raise Unreachable(f"the Docker engine at {where} is engine {answer.stdout.strip()}, but the stack runs on "
                              f"engine {wanted} at {self.engine.get('address')}; set DOCKER_HOST (or dockerHost) to it")

    def containers(self) -> dict[str, list[dict]]:
        """The stack's containers by service."""
        listed = _run(self.docker("ps", "--all", "--quiet", "--no-trunc", "--filter", f"label={self.label}"), self.env)
        if listed.returncode != 0:  # not "none": a failed listing is not every service missing
            raise Unreachable(f"docker could not list the stack's containers ({_cause(listed)})")
        ids = listed.stdout.split()
        if not ids:
            return {}
        inspected = _run(self.docker("inspect", *ids), self.env)
        if inspected.returncode != 0 and not inspected.stdout.strip():
            raise Unreachable(f"docker could not inspect the stack's containers ({_cause(inspected)})")
        found: dict[str, list[dict]] = {}
        for container in json.loads(inspected.stdout or "[]"):
            service = ((container.get("Config") or {}).get("Labels") or {}).get(DOCKER_LABEL)
            found.setdefault(service, []).append(container)
        return found

    def statuses(self, services: Sequence[Wanted]) -> dict[str, Status]:
        containers = self.containers()
        found = {}
        for service in services:
            # the container of the name the stack gives it (another one would be a leftover)
            named = [c for c in containers.get(service.name, []) if c.get("Name", "").lstrip("/") == service.workload]
            found[service.name] = (named[0], container_status(named[0], service.one_shot)) if named else (None, MISSING)
        # Docker says `starting` until its next check: ask the check itself, as the gate does
        starting = [name for name, (_, status) in found.items() if status.health == "starting"]
        with ThreadPoolExecutor(max_workers=8) as pool:
            checked = dict(zip(starting, pool.map(lambda name: self.check_now(found[name][0]), starting)))
        return {name: (replace(status, health=LAGGING, ok=True, lags=True) if checked.get(name) else status)
                for name, (_, status) in found.items()}

    def check_now(self, container: dict) -> bool:
        """Whether the container's own health check passes now, run once as `make up`'s
        health gate runs it (scripts/wait_healthy.py)."""
        config = container.get("Config") or {}
        command = wait_healthy.check_command(config.get("Healthcheck"), config.get("Shell"))
        if command is None:
            return False
        timeout = ((config.get("Healthcheck") or {}).get("Timeout") or 30e9) / 1e9
        return wait_healthy.run_check(container.get("Id") or container["Name"].lstrip("/"), command, timeout,
                                      self.env).passed

    def logs(self, service: Wanted, lines: int, follow: bool) -> list[str]:
        return self.docker("logs", "--tail", str(lines), *(["--follow"] if follow else []), service.workload)

    def shell(self, service: Wanted, terminal: bool) -> list[str]:
        return self.docker("exec", "--interactive", *(["--tty"] if terminal else []), service.workload, *SHELL)

    def restart_commands(self, service: Wanted) -> list[list[str]]:
        """Stop (its stop signal, then a kill after STOP_SECONDS) and start the same container."""
        return [self.docker("restart", "-t", str(STOP_SECONDS), service.workload)]

    def wait_command(self, service: Wanted) -> Optional[list[str]]:
        """The health gate of `make up` (scripts/wait_healthy.py), for a container with a
        health check, with as long as `make up` gives it; None without a check."""
        found = _run(self.docker("inspect", "--format", "{{json .Config.Healthcheck}}", service.workload), self.env)
        check = json.loads(found.stdout or "null") if found.returncode == 0 else None
        if not check or (check.get("Test") or ["NONE"])[0] == "NONE":
            return None
        seconds = HealthCheck(tuple(check["Test"]), int((check.get("Interval") or 0) / 1e9),
                              int((check.get("Timeout") or 0) / 1e9), int(check.get("Retries") or 0),
                              int((check.get("StartPeriod") or 0) / 1e9)).wait_timeout
        return [sys.executable, str(WAIT_HEALTHY), "--timeout", str(seconds), service.workload]


# -- Kubernetes ------------------------------------------------------------------------

def pod_status(pod: dict, one_shot: bool) -> Status:
    """A service's status from its pod (`kubectl get pod -o json`)."""
    phase = (pod.get("status") or {}).get("phase", "Unknown")
    [container] = (pod.get("spec") or {}).get("containers") or [{}]
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    current = statuses[0]
    waiting = (current.get("state") or {}).get("waiting") or {}
    terminated = (current.get("state") or {}).get("terminated") or {}
    state = ("terminating" if (pod.get("metadata") or {}).get("deletionTimestamp") else
             waiting.get("reason") or ("running" if phase == "Running" else phase.lower()))
    if one_shot:
        return one_shot_status(phase in ("Succeeded", "Failed"), terminated.get("exitCode"), state)
    ready = bool(current.get("ready"))
    health = ("healthy" if ready else "not ready") if container.get("readinessProbe") else "-"
    return Status(state, health, current.get("restartCount"), state == "running" and ready)


def _preference(pod: dict) -> tuple[bool, str]:
    """The pod that stands for its service: one not terminating, then the newest."""
    metadata = pod.get("metadata") or {}
    return not metadata.get("deletionTimestamp"), metadata.get("creationTimestamp", "")


class KubernetesWorkloads:
    """The stack's pods in its namespace, on the context its `up` ran on."""

    kind = "kubernetes"

    def __init__(self, context: str, namespace: str, env: Mapping[str, str]):
        self.context, self.namespace = context, namespace
        self.env = dict(env)
        self.cli = " ".join(self.kubectl())

    def kubectl(self, *args: str) -> list[str]:
        return ["kubectl", "--context", self.context, "--namespace", self.namespace, *args]

    def reach(self) -> None:
        """Nothing to ask first: a context that does not answer fails in `get pods`."""

    def pods(self) -> dict[str, dict]:
        """The stack's pods by service: the newest one that is not terminating first."""
        listed = _run(self.kubectl("get", "pods", "--selector", KUBERNETES_PART_OF, "--output", "json"), self.env)
        if listed.returncode != 0:
            raise Unreachable(f"kubectl could not list the pods of namespace {self.namespace} on context "
                              f"{self.context} ({_cause(listed)})")
        found: dict[str, list[dict]] = {}
        for pod in json.loads(listed.stdout or "{}").get("items", []):
            service = ((pod.get("metadata") or {}).get("labels") or {}).get(KUBERNETES_NAME)
            found.setdefault(service, []).append(pod)
        return {service: max(items, key=_preference) for service, items in found.items()}

    def statuses(self, services: Sequence[Wanted]) -> dict[str, Status]:
        pods = self.pods()
        return {s.name: pod_status(pods[s.name], s.one_shot) if s.name in pods else MISSING for s in services}

    @staticmethod
    def _workload(service: Wanted) -> str:
        return f"{'job' if service.one_shot else 'deployment'}/{service.workload}"

    def logs(self, service: Wanted, lines: int, follow: bool) -> list[str]:
        return self.kubectl("logs", self._workload(service), "--tail", str(lines), *(["--follow"] if follow else []))

    def shell(self, service: Wanted, terminal: bool) -> list[str]:
        return self.kubectl("exec", "--stdin", *(["--tty"] if terminal else []), self._workload(service), "--", *SHELL)

    def restart_commands(self, service: Wanted) -> list[list[str]]:
        """A new pod of the same template, the old one gone first (strategy Recreate)."""
        return [self.kubectl("rollout", "restart", self._workload(service))]

    def wait_command(self, service: Wanted) -> Optional[list[str]]:
        """Until the new pod is ready: its health check passed (its readiness probe)."""
        return self.kubectl("rollout", "status", self._workload(service), f"--timeout={START_SECONDS}s")
