"""One way to make a container: a service description, read like a compose entry, and
the one function (`Platform.run`) that turns it into an image and a container.

`Platform.run` alone applies the name prefix, port offset, bind address, network alias,
absolute host paths, env files, secrets and "wait until healthy", so that every stack
gets them the same way.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_docker as docker

from .envfile import read_env_file
from .settings import PROJECT_DIR, RESOURCES, Settings

# Settings whose values are credentials: they enter Pulumi as secrets.
_SECRET_ENV = re.compile(r"PASSWORD|SECRET|LICENSE|CREDENTIAL")

# How long `pulumi up` waits at least for a health check to pass: first starts on a
# laptop (JVM services, Connect scanning its plugins) take minutes, and the provider's
# own default of 60 s is too short.
MIN_WAIT_SECONDS = 300

# Time a container gets to shut down on destroy or replace before it is killed
# (the provider kills at once when this is unset).
STOP_GRACE_SECONDS = 30

LABEL = "dev.factorhouse.local"


@dataclass(frozen=True)
class HealthCheck:
    test: tuple[str, ...]  # as in compose: ("CMD", "curl", "-f", URL)
    interval: int  # seconds
    timeout: int
    retries: int
    start_period: int = 0

    @property
    def wait_timeout(self) -> int:
        window = self.start_period + (self.interval + self.timeout) * (self.retries + 1)
        return max(MIN_WAIT_SECONDS, window)


def curl_check(url: str, interval: int, timeout: int, retries: int, start_period: int = 0) -> HealthCheck:
    return HealthCheck(("CMD", "curl", "-f", url), interval, timeout, retries, start_period)


@dataclass(frozen=True)
class Mount:
    """A file or folder of the host, bind-mounted. A relative source is under resources/."""

    source: str | Path
    target: str
    read_only: bool = True
    # A change to a tracked file's content replaces the container; downloads and
    # generated files are not tracked (their folder is named by their content already).
    tracked: bool = True

    @property
    def host_path(self) -> Path:
        path = Path(self.source)
        return path if path.is_absolute() else RESOURCES / path


@dataclass(frozen=True)
class Service:
    name: str  # name on the network (alias) and Pulumi name
    container: str  # upstream container name, before the prefix
    image: pulumi.Input[str]  # an image reference, or the id of an image built here
    ports: tuple[tuple[int, int], ...] = ()  # (upstream host port, container port)
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    env_files: tuple[Path, ...] = ()
    mounts: tuple[Mount, ...] = ()
    data: tuple[tuple[str, str], ...] = ()  # (volume name, container path): kept data
    command: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    healthcheck: Optional[HealthCheck] = None
    # service -> "started", "healthy" (it has a health check) or "completed" (a one-shot
    # that exited with 0), as in compose
    depends_on: Mapping[str, str] = field(default_factory=dict)
    requires: tuple[pulumi.Resource, ...] = ()  # set-up resources that must finish first
    restart: str = "no"
    memory_mb: Optional[int] = None
    always_pull: bool = False  # follow `latest` (a pinned tag or digest is pulled once)
    one_shot: bool = False  # runs to completion (`pulumi up` waits for it), then stays exited
    replace_when: tuple[pulumi.Input[str], ...] = ()  # values whose change re-creates it


def content_hash(paths: Sequence[Path]) -> str:
    """SHA-256 over the names and contents of files and folders (recursively, in a fixed
    order), so that an edit to a mounted file shows up as a change."""
    digest = hashlib.sha256()
    for root in paths:
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for file in files:
            digest.update(str(file.relative_to(root.parent)).encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()


def _is_latest(reference: str) -> bool:
    """Whether a reference names the moving `latest` tag (explicitly or by default)."""
    if "@" in reference:
        return False
    last = reference.rsplit("/", 1)[-1]
    return ":" not in last or last.endswith(":latest")


def _seconds(value: int) -> str:
    return f"{value}s"


class Platform:
    """What every stack shares: settings, the network, pulled images and the containers
    made so far (to resolve `depends_on` by service name)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        # generated files and downloads of this stack (one per developer stack)
        self.work_dir = PROJECT_DIR / ".work" / pulumi.get_stack()
        self.outputs: dict[str, pulumi.Input] = {}
        self.network = docker.Network(
            "network",
            name=settings.name("factorhouse"),
            driver="bridge",
            labels=[docker.NetworkLabelArgs(label=LABEL, value="network")],
        )
        self.containers: dict[str, docker.Container] = {}
        self._services: dict[str, Service] = {}
        self._images: dict[str, docker.RemoteImage] = {}

    # -- images ---------------------------------------------------------------------
    def pull(self, reference: str, always: bool = False) -> docker.RemoteImage:
        """One RemoteImage per reference, shared by every service that runs it. Images stay
        on the engine on destroy (`keep_locally`): pulling them again is slow."""
        always = always and _is_latest(reference)
        key = reference + ("@always" if always else "")
        if key in self._images:
            return self._images[key]
        name = "image-" + re.sub(r"[^A-Za-z0-9.-]+", "-", reference)
        if always:
            # A moving tag: ask the registry for its digest and pull by digest, so that a
            # new `latest` is pulled and the containers follow it.
            digest = docker.get_registry_image_output(name=reference).sha256_digest
            image = docker.RemoteImage(
                name,
                name=pulumi.Output.concat(reference, "@", digest),
                pull_triggers=[digest],
                keep_locally=True,
            )
        else:
            image = docker.RemoteImage(name, name=reference, keep_locally=True)
        self._images[key] = image
        return image

    # -- containers -----------------------------------------------------------------
    def volume(self, name: str, parent: pulumi.Resource) -> docker.Volume:
        """A named volume for data. Kept when Pulumi deletes it (destroy, or
        persistData turned off): data is only ever removed by the user."""
        return docker.Volume(
            f"volume-{name}",
            name=self.settings.name(name),
            labels=[docker.VolumeLabelArgs(label=LABEL, value="data")],
            opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=True),
        )

    def _env(self, service: Service) -> list[pulumi.Input[str]]:
        values: dict[str, pulumi.Input[str]] = {}
        for path in service.env_files:
            values.update(read_env_file(path))
        values.update(service.env)
        envs: list[pulumi.Input[str]] = []
        for key in sorted(values):
            entry = pulumi.Output.concat(key, "=", values[key])
            envs.append(pulumi.Output.secret(entry) if _SECRET_ENV.search(key) else entry)
        return envs

    def _dependencies(self, service: Service) -> list[pulumi.Resource]:
        deps: list[pulumi.Resource] = []
        for name, condition in sorted(service.depends_on.items()):
            if name not in self.containers:
                raise ValueError(f"{service.name} depends on {name}, which is not made (yet)")
            if condition == "healthy" and self._services[name].healthcheck is None:
                raise ValueError(f"{service.name} waits for {name} to be healthy, which has no health check")
            if condition == "completed" and not self._services[name].one_shot:
                raise ValueError(f"{service.name} waits for {name} to complete, which is not a one-shot")
            if condition not in ("started", "healthy", "completed"):
                raise ValueError(f"{service.name}: unknown condition {condition!r}")
            # A container with a health check is only created once healthy (`wait`), and
            # a one-shot once it has exited (`attach`), so depending on it means starting
            # after it is healthy or done.
            deps.append(self.containers[name])
        return deps + list(service.requires)

    def run(self, service: Service, parent: pulumi.Resource) -> docker.Container:
        s = self.settings
        image = (
            self.pull(service.image, service.always_pull).image_id
            if isinstance(service.image, str)
            else service.image
        )
        labels = [docker.ContainerLabelArgs(label=LABEL, value=service.name)]
        tracked = [m.host_path for m in service.mounts if m.tracked]
        if tracked:
            # a changed config file replaces the container, as a changed setting would
            labels.append(docker.ContainerLabelArgs(label=f"{LABEL}.config-sha256", value=content_hash(tracked)))

        if service.replace_when:
            labels.append(docker.ContainerLabelArgs(
                label=f"{LABEL}.replace-when", value=pulumi.Output.all(*service.replace_when).apply(",".join)))

        volumes = [
            docker.ContainerVolumeArgs(host_path=str(m.host_path), container_path=m.target, read_only=m.read_only)
            for m in service.mounts
        ]
        if s.persist_data:
            volumes += [
                docker.ContainerVolumeArgs(volume_name=self.volume(name, parent).name, container_path=path)
                for name, path in service.data
            ]

        check = service.healthcheck
        container = docker.Container(
            service.name,
            name=s.name(service.container),
            image=image,
            command=list(service.command) or None,
            entrypoints=list(service.entrypoint) or None,
            envs=self._env(service) or None,
            ports=[
                docker.ContainerPortArgs(internal=inside, external=s.port(host), ip=s.bind_address)
                for host, inside in service.ports
            ]
            or None,
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(name=self.network.name, aliases=[service.name])
            ],
            volumes=volumes or None,
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=list(check.test),
                interval=_seconds(check.interval),
                timeout=_seconds(check.timeout),
                retries=check.retries,
                start_period=_seconds(check.start_period),
            )
            if check
            else None,
            # `pulumi up` (and every container that depends on this one) waits until healthy
            wait=check is not None,
            wait_timeout=check.wait_timeout if check else None,
            restart=service.restart,
            memory=service.memory_mb,
            must_run=not service.one_shot,
            attach=service.one_shot or None,
            logs=service.one_shot or None,
            destroy_grace_seconds=STOP_GRACE_SECONDS,
            labels=labels,
            opts=pulumi.ResourceOptions(
                parent=parent,
                depends_on=self._dependencies(service),
                # fixed names and ports cannot exist twice
                delete_before_replace=True,
                # the provider reports a changed health check but does not apply it
                replace_on_changes=["healthcheck"] if check else None,
            ),
        )
        if service.one_shot:
            name = s.name(service.container)
            container.exit_code.apply(lambda code: _report_failure(name, code, container))
        self.containers[service.name] = container
        self._services[service.name] = service
        return container


def _report_failure(name: str, exit_code: Optional[int], container: docker.Container) -> None:
    """A one-shot that failed fails `pulumi up`, with a line that says what to do."""
    if exit_code:
        pulumi.log.error(
            f"{name} exited with code {int(exit_code)}: see `docker logs {name}`; once fixed, "
            f"`docker rm {name}` and `make up` run it again", resource=container)
