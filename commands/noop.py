"""Whether `make up` has anything to do, told without running the Pulumi engine.

After every `pulumi up` that succeeded, commands/stack.py records in the stack's own folder
(`.work/<stack>/last-up.json`) three things: a digest of everything the program's plan
depends on (`inputs`), a digest of the state the up left (`state`), and what the engine
held afterwards (`engine`: each container's id, state, health, changeable settings and
image tags; on Kubernetes each object's uid and generation or version, and whether its
pods are ready). The next `make up` compares, cheapest first, and decides (`check`):

- `nothing`: the record exists, the state is the one the last up left, the engine holds
  what it left (every service running, and not unhealthy; each one-shot exited 0), and the
  inputs are the same: it says so in one line and starts no pulumi at all.
- `up`: only the inputs changed (a setting, a file, an image tag, the downloads manifest,
  the program, the CLI or provider versions, the environment they read), or `followLatest`
  is on (the registry may hold a newer image): `pulumi up` without `--refresh`. The state
  still tells the engine's truth: the engine holds exactly what the last up read back.
- `refresh`: no record, a state changed since (a `pulumi` command run by hand, a
  teammate's, a lock or journal of a run), an engine that does not answer, or drift (a
  container or object gone, stopped, replaced or changed by hand, unhealthy, an image tag
  removed): `pulumi up --refresh`, which reads every resource back, as before.

What the inputs are (`inputs_digest`): the bytes of the project's files the program reads
(SOURCES), the stack file `Pulumi.<stack>.yaml` as stored, every file a setting names (the
licence files), the environment the program, the CLI and the providers read
(ENVIRONMENT), the kubeconfig on engine kubernetes, the Pulumi CLI's executable (path,
size, time) and the versions of the Pulumi packages (which pin the providers' plugins).
The record holds digests, ids and names only: never a setting's value or a secret.
Standard library and PyYAML only (through commands.recover).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Mapping, Optional

from commands.recover import CONTAINER, LABEL, lock_files, resource_name, run_captured, stack_settings
from commands.workloads import DOCKER_LABEL, KUBERNETES_PART_OF, DockerWorkloads
from settings import PROJECT, default_namespace, stack_label

RECORD = "last-up.json"
# the project's files the program (and its steps) read; resources/ holds the downloads manifest
SOURCES = ("Pulumi.yaml", "__main__.py", "requirements.txt", "settings", "stacks", "engines", "scripts",
           "resources")
# what the program, the CLI and the providers read from the environment
ENVIRONMENT = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONFIG",
               "KUBECONFIG", "PULUMI_BACKEND_URL", "PULUMI_HOME", "XDG_CACHE_HOME", "HOME")
# and every setting of the Kubernetes provider's own (PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY, ...)
ENVIRONMENT_PREFIXES = ("PULUMI_K8S_",)
PACKAGES = ("pulumi", "pulumi-docker", "pulumi-command", "pulumi-kubernetes", "PyYAML")
# Kubernetes objects of the platform, by what tells that one was changed by hand: the
# generation (a spec's change; its status changes do not count), else the resourceVersion;
# a claim is a kept object, taken back as it is: only its uid
KUBERNETES_KINDS = {"deployment": "generation", "job": "generation", "service": "resourceVersion",
                    "configmap": "resourceVersion", "secret": "resourceVersion", "networkpolicy": "resourceVersion",
                    "persistentvolumeclaim": None}
DRIFT_SHOWN = 3  # drifts named in the one line; the rest counted


@dataclass(frozen=True)
class Verdict:
    """What `make up` does: `nothing`, `up` (no refresh) or `refresh`; `reason`: one
    clause saying why (empty: nothing worth saying)."""

    action: str
    reason: str = ""


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "absent"


def source_files(project_dir: Path) -> list[Path]:
    """The project's files the program reads, in a fixed order (bytecode left out)."""
    found = []
    for name in SOURCES:
        path = project_dir / name
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(p for p in sorted(path.rglob("*")) if p.is_file() and "__pycache__" not in p.parts
                         and p.suffix != ".pyc")
    return found


def named_files(settings: Mapping[str, str], project_dir: Path) -> dict[str, str]:
    """Digests of the files the settings name (a licence file): a new licence in the same
    place is a change."""
    found = {}
    for key, value in sorted(settings.items()):
        if not isinstance(value, str) or not value or "\n" in value or len(value) > 4096:
            continue
        path = Path(os.path.expanduser(value))
        path = path if path.is_absolute() else project_dir / path
        if path.is_file():
            found[key] = _file_digest(path)
    return found


def _kubeconfig(env: Mapping[str, str]) -> list[str]:
    paths = env.get("KUBECONFIG") or str(Path(env.get("HOME", str(Path.home()))) / ".kube" / "config")
    return [_file_digest(Path(p)) for p in paths.split(os.pathsep) if p]


def _versions() -> dict[str, str]:
    found = {}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "absent"
    return found


def _cli(pulumi: str) -> list:
    try:
        real = os.path.realpath(pulumi)
        info = os.stat(real)
        return [real, info.st_size, info.st_mtime_ns]
    except OSError:
        return [pulumi]


def inputs_digest(project_dir: Path, stack: str, env: Mapping[str, str], pulumi: str,
                  settings: Optional[Mapping[str, str]] = None) -> str:
    """One digest of everything the program's plan depends on (the module's docstring)."""
    settings = stack_settings(project_dir, stack) if settings is None else settings
    files = [(str(p.relative_to(project_dir)), _file_digest(p)) for p in source_files(project_dir)]
    return _digest(files, _file_digest(project_dir / f"Pulumi.{stack}.yaml"), named_files(settings, project_dir),
                   {key: env.get(key) for key in ENVIRONMENT},
                   sorted((key, value) for key, value in env.items() if key.startswith(ENVIRONMENT_PREFIXES)),
                   _kubeconfig(env) if settings.get("engine") == "kubernetes" else [],
                   _cli(pulumi), _versions(), sys.version)


# -- the state ---------------------------------------------------------------------------

def state_files(state_folder: Path, stack: str) -> list[Path]:
    """The stack's checkpoint in a local (file://) backend, in either layout (project-scoped
    `.pulumi/stacks/<project>/<stack>.json`, or the older `.pulumi/stacks/<stack>.json`),
    plain or compressed."""
    stacks = state_folder / ".pulumi" / "stacks"
    return [path for base in (stacks / PROJECT / stack, stacks / stack)
            for path in (Path(f"{base}.json"), Path(f"{base}.json.gz"), Path(f"{base}.json.zst")) if path.is_file()]


def busy(state_folder: Path, stack: str) -> bool:
    """A lock (a pulumi runs, or one ended without releasing it) or a journal of an
    interrupted run: only a real run may settle it."""
    journal = state_folder / ".pulumi" / "journal"
    return bool(lock_files(state_folder, stack)) or any(
        (journal / part).is_dir() and any((journal / part).iterdir()) for part in (f"{PROJECT}/{stack}", stack))


def _load(path: Path) -> Optional[dict]:
    """A checkpoint file's JSON; None for a form the standard library cannot read (zstd)."""
    try:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        elif path.suffix != ".json":
            return None
        return json.loads(data)
    except (OSError, ValueError):
        return None


def read_state(pulumi: str, stack: str, env: Mapping[str, str], project_dir: Path, state_folder: Optional[Path],
               parse: bool = False) -> tuple[Optional[str], Optional[dict]]:
    """A digest of the stack's state as stored (every update, refresh, destroy or import
    writes a new one), None when there is none; with `parse`, also the state itself. A
    local backend's file is read as it is; another backend is asked (`pulumi stack
    export`, about a second)."""
    if state_folder is not None:
        found = state_files(state_folder, stack)
        if not found:
            return None, None
        return _digest([_file_digest(path) for path in found]), _load(found[0]) if parse else None
    exported = run_captured([pulumi, "stack", "export", "--stack", stack], env, project_dir)
    if exported.returncode != 0:
        return None, None
    try:
        state = json.loads(exported.stdout)
    except json.JSONDecodeError:
        return None, None
    return _digest(state), state


def state_digest(pulumi: str, stack: str, env: Mapping[str, str], project_dir: Path,
                 state_folder: Optional[Path]) -> Optional[str]:
    return read_state(pulumi, stack, env, project_dir, state_folder)[0]


def one_shots(state: dict) -> set[str]:
    """The names of the containers the state holds as one-shots (attached: they run to
    their end), in an export (`deployment`) or a checkpoint file (`checkpoint.latest`)."""
    deployment = state.get("deployment") or (state.get("checkpoint") or {}).get("latest") or {}
    return {resource_name(r) for r in deployment.get("resources") or []
            if r.get("type") == CONTAINER and (r.get("inputs") or {}).get("attach")}


# -- the engine ------------------------------------------------------------------------

def docker_view(stack: str, settings: Mapping[str, str], env: Mapping[str, str]) -> Optional[dict]:
    """The stack's containers by name (`docker ps` of its label, then one `docker inspect`)
    and the tags of the images they run; None when the engine does not answer."""
    engine = DockerWorkloads(stack_label(stack), settings.get("dockerHost", ""), {}, env)
    listed = run_captured(engine.docker("ps", "--all", "--quiet", "--no-trunc", "--filter",
                                        f"label={LABEL}.stack={stack_label(stack)}"), engine.env)
    if listed.returncode != 0:
        return None
    containers = {}
    inspected = run_captured(engine.docker("inspect", *listed.stdout.split()), engine.env) if listed.stdout.split() \
        else None
    for container in json.loads(inspected.stdout or "[]") if inspected and inspected.returncode == 0 else []:
        state = container.get("State") or {}
        status = state.get("Status", "unknown")
        networks = (container.get("NetworkSettings") or {}).get("Networks") or {}
        containers[container.get("Name", "").lstrip("/")] = {
            "id": container.get("Id"),
            "service": ((container.get("Config") or {}).get("Labels") or {}).get(DOCKER_LABEL),
            "image": container.get("Image"),
            "state": f"exited ({state.get('ExitCode')})" if status == "exited" else status,
            "health": (state.get("Health") or {}).get("Status", "-"),
            # what `docker update`, `docker network connect/disconnect` change in place
            "settings": _digest(container.get("HostConfig"),
                                {name: sorted(n.get("Aliases") or []) for name, n in networks.items()}),
        }
    images = sorted({c["image"] for c in containers.values() if c["image"]})
    tags: dict[str, list[str]] = {}
    if images:
        found = run_captured(engine.docker("image", "inspect", "--format", "{{json .Id}} {{json .RepoTags}}", *images),
                             engine.env)
        for line in found.stdout.splitlines():
            image, _, repo_tags = line.partition(" ")
            tags[json.loads(image)] = sorted(json.loads(repo_tags or "[]") or [])
    return {"containers": containers, "images": tags}


def kubernetes_view(stack: str, settings: Mapping[str, str], env: Mapping[str, str]) -> Optional[dict]:
    """The platform's objects in the stack's namespace (one `kubectl get`), by kind/name;
    None when the cluster does not answer."""
    context = settings.get("kubeContext", "")
    namespace = settings.get("namespace") or default_namespace(stack)
    listed = run_captured(["kubectl", *(["--context", context] if context else []), "--namespace", namespace, "get",
                           ",".join(KUBERNETES_KINDS), "--selector", KUBERNETES_PART_OF, "--output", "json"], env)
    if listed.returncode != 0:
        return None
    objects = {}
    for item in json.loads(listed.stdout or "{}").get("items", []):
        kind = item.get("kind", "").lower()
        metadata_ = item.get("metadata") or {}
        status = item.get("status") or {}
        if kind not in KUBERNETES_KINDS:
            continue
        version = KUBERNETES_KINDS[kind]
        ready = True
        if kind == "deployment":
            ready = (status.get("readyReplicas") or 0) >= ((item.get("spec") or {}).get("replicas", 1) or 0)
        elif kind == "job":
            ready = (status.get("succeeded") or 0) >= 1
        objects[f"{kind}/{metadata_.get('name')}"] = {
            "uid": metadata_.get("uid"), "version": metadata_.get(version) if version else None, "ready": ready}
    return {"objects": objects}


def engine_view(stack: str, settings: Mapping[str, str], env: Mapping[str, str]) -> Optional[dict]:
    view = kubernetes_view if settings.get("engine") == "kubernetes" else docker_view
    return view(stack, settings, env)


def _container_change(was: dict, it: dict) -> Optional[str]:
    if it["id"] != was["id"]:
        return "was replaced (another id)"
    if it["state"] != ("exited (0)" if was.get("one_shot") else "running"):
        return f"is {it['state']}"
    if it["health"] == "unhealthy":
        return "is unhealthy"
    if it["settings"] != was["settings"]:
        return "was changed in place (docker update or network)"
    return None


def _object_change(was: dict, it: dict) -> Optional[str]:
    if it["uid"] != was["uid"]:
        return "was made again (another uid)"
    if it["version"] != was["version"]:
        return "was changed by hand"
    return None if it["ready"] else "is not ready"


def _compare(before: dict, after: dict, prefix: str, change) -> list[str]:
    found = []
    for name, was in sorted(before.items()):
        problem = "is gone" if name not in after else change(was, after[name])
        if problem:
            found.append(f"{prefix}{name} {problem}")
    return found + [f"{prefix}{name} is not one the last up made" for name in sorted(set(after) - set(before))]


def drift(recorded: dict, now: dict) -> list[str]:
    """What differs on the engine from what the last up left, one clause each."""
    found = []
    if "containers" in recorded and "containers" in now:
        found += _compare(recorded["containers"], now["containers"], "container ", _container_change)
        for image, tags in sorted(recorded.get("images", {}).items()):
            found += [f"image {tag} is gone" for tag in sorted(set(tags) - set(now.get("images", {}).get(image, [])))]
    if "objects" in recorded and "objects" in now:
        found += _compare(recorded["objects"], now["objects"], "", _object_change)
    return found


# -- the record ------------------------------------------------------------------------

def record_path(project_dir: Path, stack: str) -> Path:
    return project_dir / ".work" / stack / RECORD


def read_record(project_dir: Path, stack: str) -> Optional[dict]:
    try:
        record = json.loads(record_path(project_dir, stack).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and {"inputs", "state", "engine"} <= set(record) else None


def forget(project_dir: Path, stack: str) -> None:
    """No record: the next `make up` reads everything back."""
    try:
        record_path(project_dir, stack).unlink()
    except FileNotFoundError:
        pass


def record(pulumi: str, stack: str, env: Mapping[str, str], project_dir: Path, state_folder: Optional[Path],
           inputs: str) -> bool:
    """After an `up` that succeeded: keep `inputs` (taken before it ran, so that a file
    changed during the run counts as changed), the state it left and what the engine holds
    now. Nothing is kept (and any earlier record goes) when either cannot be read."""
    settings = stack_settings(project_dir, stack)
    state, held = read_state(pulumi, stack, env, project_dir, state_folder, parse=True)
    view = engine_view(stack, settings, env) if state and held is not None else None
    if state is None or view is None or (state_folder is not None and busy(state_folder, stack)):
        forget(project_dir, stack)
        return False
    # a one-shot is as it should be when it exited 0; every other container when it runs
    for name in one_shots(held or {}) & set(view.get("containers") or {}):
        view["containers"][name]["one_shot"] = True
    path = record_path(project_dir, stack)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps({"inputs": inputs, "state": state, "engine": view}, indent=1, sort_keys=True))
    partial.replace(path)
    return True


def check(pulumi: str, stack: str, env: Mapping[str, str], project_dir: Path,
          state_folder: Optional[Path]) -> Verdict:
    """What `make up` must do (see the module's docstring), cheapest question first."""
    recorded = read_record(project_dir, stack)
    if recorded is None:
        return Verdict("refresh")
    if state_folder is not None and busy(state_folder, stack):
        return Verdict("refresh", "a lock or journal of another run is in the state")
    if state_digest(pulumi, stack, env, project_dir, state_folder) != recorded["state"]:
        return Verdict("refresh", "the state changed since the last make up (a pulumi command run by hand, "
                                  "or a teammate's)")
    settings = stack_settings(project_dir, stack)
    now = engine_view(stack, settings, env)
    if now is None:
        return Verdict("refresh", "the engine did not answer")
    drifted = drift(recorded["engine"], now)
    if drifted:
        more = len(drifted) - DRIFT_SHOWN
        return Verdict("refresh", "; ".join(drifted[:DRIFT_SHOWN]) + (f"; and {more} more" if more > 0 else ""))
    if inputs_digest(project_dir, stack, env, pulumi, settings) != recorded["inputs"]:
        return Verdict("up")
    if str(settings.get("followLatest", "")).lower() == "true":  # as the program reads a boolean
        return Verdict("up", "followLatest: the registry may hold a newer image")
    return Verdict("nothing")


def unchanged_line(stack: str, recorded: Optional[dict]) -> str:
    """The one line of a `make up` with nothing to do."""
    engine = (recorded or {}).get("engine") or {}
    count = len(engine.get("containers") or engine.get("objects") or {})
    what = f"{count} container{'s' if count != 1 else ''}" if "containers" in engine else f"{count} objects"
    return (f"Nothing to do on stack {stack}: settings, files and program as at the last make up, and the engine "
            f"holds what it left ({what}, running as they were). `make up REFRESH=1` reads everything back anyway.")
