"""The Docker builder: the one place where a service description becomes Docker
resources, on the engine that the `dockerHost` setting names (local or remote).

`Platform.run` alone decides how a service is delivered, the same way for every stack
and for a local or a remote engine (nothing is bind-mounted from this machine):
- its image is pulled once (`RemoteImage`), or built on the engine by a command step;
- downloaded folders are baked into an image built on the engine (FROM the service's
  image), so their bytes are sent only when they change;
- files are uploaded into the container before it starts (a change replaces it);
- data lives in named volumes that outlive the container and `pulumi destroy`;
- published ports bind to `bindAddress`; settings that are credentials are secrets;
- "healthy" is a health gate step that waits on the container's own health check,
  "completed" fails the run when the one-shot exited non-zero.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from .envfile import read_env_file
from .service import ImageBuild, Service
from .settings import PROJECT_DIR, RESOURCES, Settings
from .setup import Download, build_step, content_hash, health_gate

# Settings whose values are credentials: they enter Pulumi as secrets.
_SECRET_ENV = re.compile(r"PASSWORD|SECRET|LICENSE|CREDENTIAL")

# Time a container gets to shut down on destroy or replace before it is killed
# (the provider kills at once when this is unset).
STOP_GRACE_SECONDS = 30

LABEL = "dev.factorhouse.local"
BAKE_CONTEXT = RESOURCES / "bake"  # FROM a base, COPY one folder to a path


def go_duration(seconds: int) -> str:
    """A duration as the provider reads it back (Go's time.Duration.String()): 90 s is
    `1m30s`. Written any other way, every preview would show a change."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def _is_latest(reference: str) -> bool:
    """Whether a reference names the moving `latest` tag (explicitly or by default)."""
    if "@" in reference:
        return False
    last = reference.rsplit("/", 1)[-1]
    return ":" not in last or last.endswith(":latest")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-")


class OneShotFailed(pulumi.RunError):
    """A one-shot container exited non-zero: the run fails, naming it (no traceback)."""


@dataclass(frozen=True)
class _Image:
    key: str  # what it is made of, to share one image between services
    reference: pulumi.Input[str]  # what a Dockerfile's FROM names
    id: pulumi.Output[str]  # what a container runs
    made_by: pulumi.Resource


class Platform:
    """What every stack shares: settings, the Docker provider and network, images, and
    the containers made so far (to resolve `depends_on` by service name)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        # downloads of this stack, on this machine (one folder per developer stack)
        self.work_dir = PROJECT_DIR / ".work" / pulumi.get_stack()
        self.outputs: dict[str, pulumi.Input] = {}
        # one explicit provider: every Docker resource goes to the same engine
        self.provider = docker.Provider("docker", host=settings.docker_host or None)
        self.network = docker.Network(
            "network",
            name=settings.name("factorhouse"),
            driver="bridge",
            labels=[docker.NetworkLabelArgs(label=LABEL, value="network")],
            # a fixed name cannot exist twice
            opts=self._opts(delete_before_replace=True),
        )
        self.containers: dict[str, docker.Container] = {}
        self._gates: dict[str, command.local.Command] = {}
        self._completed: dict[str, pulumi.Output[str]] = {}
        self._images: dict[str, _Image] = {}

    def _opts(self, **options) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(provider=self.provider, **options)

    def docker_cli(self) -> str:
        """The docker command a user types to reach this engine."""
        host = self.settings.docker_host
        return f"docker -H {host}" if host else "docker"

    # -- images ---------------------------------------------------------------------
    def pull(self, reference: str) -> _Image:
        """One RemoteImage per reference, shared by every service that runs it: pulled
        when missing, never looked up again (as compose does), unless `followLatest`
        asks to follow a `latest` tag. Images stay on the engine on destroy."""
        key = reference
        if key not in self._images:
            name = f"image-{_slug(reference)}"
            if self.settings.follow_latest and _is_latest(reference):
                # ask the registry for the digest on every preview; a new one is pulled
                # (by digest) and replaces the containers that run it
                digest = docker.get_registry_image_output(
                    name=reference, opts=pulumi.InvokeOptions(provider=self.provider)).sha256_digest
                image = docker.RemoteImage(name, name=pulumi.Output.concat(reference, "@", digest),
                                           pull_triggers=[digest], keep_locally=True, opts=self._opts())
            else:
                image = docker.RemoteImage(name, name=reference, keep_locally=True, opts=self._opts())
            self._images[key] = _Image(reference, image.name, image.image_id, image)
        return self._images[key]

    def _build(self, repository: str, context, base: _Image, build_args: dict[str, str],
               add: tuple[tuple[Download, str], ...], parent: pulumi.Resource) -> _Image:
        """A content-tagged image built on the engine (see setup.build_step)."""
        # what the image is made from (the folders are named by their content)
        made_of = [repr(sorted(build_args.items())), repr([(d.folder.name, dest) for d, dest in add])]
        key = " ".join([repository, "FROM", base.key, str(context), *made_of])
        if key not in self._images:
            made_of.append(content_hash([context]))  # read once per image, not per service
            tag = pulumi.Output.from_input(base.reference).apply(
                lambda ref: f"{self.settings.name(repository)}:"
                            f"{hashlib.sha256('|'.join([ref, *made_of]).encode()).hexdigest()[:20]}")
            step = build_step(
                self.settings, f"build-{repository.rsplit('/', 1)[-1]}", context, tag,
                build_args={**build_args, "BASE_IMAGE": base.reference},
                add=[(d.folder, dest) for d, dest in add],
                depends_on=[base.made_by, *(d.step for d, _ in add)], parent=parent)
            self._images[key] = _Image(key, tag, step.stdout, step)
        return self._images[key]

    def image(self, service: Service, parent: pulumi.Resource) -> _Image:
        """The image a service runs: pulled or built, with its downloaded folders baked in."""
        spec = service.image
        if isinstance(spec, ImageBuild):
            image = self._build(spec.repository, spec.context, self.pull(spec.base), dict(spec.build_args),
                                spec.add, parent)
        else:
            image = self.pull(spec)
        for download, target in service.downloads:
            image = self._build(f"factorhouse/{download.group}", BAKE_CONTEXT, image, {"TARGET": target},
                                ((download, "files"),), parent)
        return image

    # -- containers -----------------------------------------------------------------
    def volume(self, name: str, parent: Optional[pulumi.Resource]) -> docker.Volume:
        """A named volume for data. Kept when Pulumi deletes it (destroy, or
        persistData turned off): data is only ever removed by the user."""
        return docker.Volume(
            f"volume-{name}",
            name=self.settings.name(name),
            labels=[docker.VolumeLabelArgs(label=LABEL, value="data")],
            opts=self._opts(parent=parent, retain_on_delete=True),
        )

    @staticmethod
    def _env(service: Service) -> list[pulumi.Input[str]]:
        values: dict[str, pulumi.Input[str]] = {}
        for path in service.env_files:
            values.update(read_env_file(path))
        values.update(service.env)
        envs: list[pulumi.Input[str]] = []
        for key in sorted(values):
            entry = pulumi.Output.concat(key, "=", values[key])
            envs.append(pulumi.Output.secret(entry) if _SECRET_ENV.search(key) else entry)
        return envs

    @staticmethod
    def _uploads(service: Service) -> list[docker.ContainerUploadArgs]:
        files = sorted(f for file in service.files for f in file.expand())
        targets = [target for target, _, _ in files]
        if len(set(targets)) != len(targets):
            raise ValueError(f"{service.name}: two files go to the same path in {targets}")
        # 0644: readable by whatever user the image runs as
        return [docker.ContainerUploadArgs(file=target, content=text, permissions="0755" if executable else "0644")
                for target, text, executable in files]

    def _after(self, service: Service) -> tuple[list[pulumi.Resource], list[pulumi.Output[str]]]:
        """What a service waits for: containers (started), health gates (healthy),
        one-shots (completed, and their exit code checked)."""
        waits: list[pulumi.Resource] = []
        completed: list[pulumi.Output[str]] = []
        for name, condition in sorted(service.depends_on.items()):
            if name not in self.containers:
                raise ValueError(f"{service.name} depends on {name}, which is not made (yet)")
            if condition == "started":
                waits.append(self.containers[name])
            elif condition == "healthy":
                if name not in self._gates:
                    raise ValueError(f"{service.name} waits for {name} to be healthy, which has no health check")
                waits.append(self._gates[name])
            elif condition == "completed":
                if name not in self._completed:
                    raise ValueError(f"{service.name} waits for {name} to complete, which is not a one-shot")
                waits.append(self.containers[name])
                completed.append(self._completed[name])
            else:
                raise ValueError(f"{service.name}: unknown condition {condition!r}")
        return waits, completed

    def shared(self, service: Service) -> docker.Container:
        """A service that more than one stack uses (Zookeeper): made once, as a child of
        the Pulumi stack itself, so its identity does not depend on which stacks run."""
        if service.name not in self.containers:
            self.run(service, parent=None)
        return self.containers[service.name]

    def run(self, service: Service, parent: Optional[pulumi.Resource]) -> docker.Container:
        s = self.settings
        name = s.name(service.container)
        image = self.image(service, parent)
        waits, completed = self._after(service)

        labels = [docker.ContainerLabelArgs(label=LABEL, value=service.name)]
        if completed:
            # not known until the one-shots exited with 0: an exit code that is not 0
            # raises, and this container is never made
            labels.append(docker.ContainerLabelArgs(
                label=f"{LABEL}.after", value=pulumi.Output.all(*completed).apply(",".join)))
        if service.replace_when:
            labels.append(docker.ContainerLabelArgs(
                label=f"{LABEL}.replace-when", value=pulumi.Output.all(*service.replace_when).apply(",".join)))

        volumes = [
            docker.ContainerVolumeArgs(volume_name=self.volume(volume, parent).name, container_path=path)
            for volume, path in service.data
        ] if s.persist_data else []

        check = service.healthcheck
        memory = service.memory_mb
        container = docker.Container(
            service.name,
            name=name,
            image=image.id,
            command=list(service.command) or None,
            entrypoints=list(service.entrypoint) or None,
            envs=self._env(service) or None,
            ports=[
                docker.ContainerPortArgs(internal=inside, external=s.port(host), ip=s.bind_address)
                for host, inside in service.ports
            ] or None,
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(name=self.network.name, aliases=[service.name])
            ],
            volumes=volumes or None,
            uploads=self._uploads(service) or None,
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=list(check.test),
                interval=go_duration(check.interval),
                timeout=go_duration(check.timeout),
                retries=check.retries,
                start_period=go_duration(check.start_period),
            ) if check else None,
            restart=service.restart,
            # as compose's mem_limit: Docker records swap as twice the memory
            memory=memory,
            memory_swap=2 * memory if memory else None,
            must_run=not service.one_shot,
            attach=service.one_shot or None,
            logs=service.one_shot or None,
            destroy_grace_seconds=STOP_GRACE_SECONDS,
            labels=labels,
            opts=self._opts(
                parent=parent,
                depends_on=[image.made_by, *waits],
                # fixed names and ports cannot exist twice
                delete_before_replace=True,
                # the provider reports a changed health check but does not apply it
                replace_on_changes=["healthcheck"] if check else None,
                # hosts without swap accounting read the swap limit back as -1
                ignore_changes=["memorySwap"] if memory else None,
            ),
        )
        self.containers[service.name] = container
        if check:
            self._gates[service.name] = health_gate(s, service.name, name, container, check.wait_timeout, parent)
        if service.one_shot:
            self._completed[service.name] = container.exit_code.apply(
                lambda code: self._check_exit(name, code))
        return container

    def _check_exit(self, name: str, exit_code: Optional[float]) -> str:
        if exit_code is None or int(exit_code) != 0:
            status = "did not report an exit code" if exit_code is None else f"exited with code {int(exit_code)}"
            raise OneShotFailed(
                f"{name} {status}: see `{self.docker_cli()} logs {name}`; once fixed, "
                f"`{self.docker_cli()} rm {name}` and `make up` run it again")
        return name
