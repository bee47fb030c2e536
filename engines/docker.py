"""The Docker engine: the one place where a service description becomes Docker
resources, on the engine that the `dockerHost` setting names (local or remote).

`DockerEngine.run` alone decides how a service is delivered, the same way for every
stack and for a local or a remote engine (nothing is bind-mounted from this machine):
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

import re
from typing import Optional

import pulumi
import pulumi_docker as docker

from scripts.dockerenv import docker_cli
from settings import Settings, stack_label as settings_stack_label
from stacks.platform import Deployed, Wait
from stacks.service import Service, is_credential

from .images import Image, Images, is_latest
from .reach import Identity
from .steps import health_gate

# Time a container gets to shut down on destroy or replace before it is killed
# (the provider kills at once when this is unset).
STOP_GRACE_SECONDS = 30

LABEL = "dev.factorhouse.local"
LOG_LINES = 5  # of a failed one-shot's log, in the error that names it

# What the provider's read of a container writes into the state whether or not the
# program set it: each map-typed field as `{}`, a network attachment's gateway priority
# as 0. A container made without them holds nothing there until its first refresh, which
# then shows each as a change (`+ tmpfs: {}`) on a stack where nothing changed; set to
# the very values the read gives back, a refresh finds nothing to report
# (docs/engine.md, "What a refresh reads back").
READ_BACK_MAPS = ("log_opts", "storage_opts", "sysctls", "tmpfs")
READ_BACK_GW_PRIORITY = 0


def log_lines(logs: Optional[str]) -> list[str]:
    """The lines of a container's log as the provider reads it: without the 8-byte frame
    header Docker puts before each chunk of a container without a terminal (stream,
    three zeros, the size), and without other control characters."""
    text = re.sub(r"[\x00-\x02]\x00\x00\x00[\s\S]{4}", "", logs or "")
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", text)
    return [line.strip() for line in text.splitlines() if line.strip()]


def stack_label() -> str:
    """The value of a container's or data volume's `dev.factorhouse.local.stack` label:
    project/stack."""
    return settings_stack_label(pulumi.get_stack())


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


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-")


class OneShotFailed(pulumi.RunError):
    """A one-shot container exited non-zero: the run fails, naming it (no traceback)."""


class DockerImages(Images):
    def __init__(self, settings: Settings, provider: docker.Provider):
        super().__init__(settings)
        self.provider = provider

    def pull(self, reference: str) -> Image:
        """One RemoteImage per reference, shared by every service that runs it: pulled
        when missing, never looked up again (as compose does), unless `followLatest`
        asks to follow a `latest` tag. Images stay on the engine on destroy."""
        name = f"image-{_slug(reference)}"
        opts = pulumi.ResourceOptions(provider=self.provider)
        if self.settings.follow_latest and is_latest(reference):
            # ask the registry for the digest on every preview; a new one is pulled
            # (by digest) and replaces the containers that run it
            digest = docker.get_registry_image_output(
                name=reference, opts=pulumi.InvokeOptions(provider=self.provider)).sha256_digest
            image = docker.RemoteImage(name, name=pulumi.Output.concat(reference, "@", digest),
                                       pull_triggers=[digest], keep_locally=True, opts=opts)
        else:
            image = docker.RemoteImage(name, name=reference, keep_locally=True, opts=opts)
        return Image(reference, image.name, image.image_id, image)


class DockerEngine:
    """Every service a container on one network of one Docker engine."""

    def __init__(self, settings: Settings, identity: Identity):
        self.settings = settings
        self.identity = identity  # the engine that answered at dockerHost
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
        self.images = DockerImages(settings, self.provider)

    def _opts(self, **options) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(provider=self.provider, **options)

    def describe(self, count: int) -> str:
        return f"{count} containers on network {self.settings.name('factorhouse')}"

    def outputs(self) -> dict[str, pulumi.Input]:
        return {"engine": self.identity.output()}

    def docker_cli(self) -> str:
        """The docker command a user types to reach this engine."""
        return docker_cli({"DOCKER_HOST": self.settings.docker_host})

    def volume(self, name: str, parent: Optional[pulumi.Resource]) -> docker.Volume:
        """A named volume for data, labelled as data and with the stack it belongs to
        (`make drop-data` removes exactly this stack's). Kept when Pulumi deletes it
        (destroy, or persistData turned off): data is only ever removed by the user."""
        return docker.Volume(
            f"volume-{name}",
            name=self.settings.name(name),
            labels=[docker.VolumeLabelArgs(label=LABEL, value="data"),
                    docker.VolumeLabelArgs(label=f"{LABEL}.stack", value=stack_label())],
            # Labels replace a volume, and Docker hands back a volume whose name exists
            # with the labels it was made with, which the provider reads back: a volume
            # made before it carried its stack would be "replaced" on every `up`, never
            # changing. So labels are only given when a volume is made (docs/engine.md).
            opts=self._opts(parent=parent, retain_on_delete=True, ignore_changes=["labels"]),
        )

    @staticmethod
    def _env(service: Service) -> list[pulumi.Input[str]]:
        values = service.environment()
        envs: list[pulumi.Input[str]] = []
        for key in sorted(values):
            entry = pulumi.Output.concat(key, "=", values[key])
            envs.append(pulumi.Output.secret(entry) if is_credential(key) else entry)
        return envs

    @staticmethod
    def _uploads(service: Service) -> list[docker.ContainerUploadArgs]:
        # 0644: readable by whatever user the image runs as
        return [docker.ContainerUploadArgs(file=f.target, content=pulumi.Output.secret(f.text) if f.secret else f.text,
                                           permissions="0755" if f.executable else "0644")
                for f in service.file_list()]

    @staticmethod
    def _labels(service: Service, after: Wait) -> list[docker.ContainerLabelArgs]:
        labels = [docker.ContainerLabelArgs(label=LABEL, value=service.name),
                  # whose it is: `make up` removes a container of this stack that its state
                  # lost (an interrupted run), and nothing else
                  docker.ContainerLabelArgs(label=f"{LABEL}.stack", value=stack_label())]
        if after.values:
            # not known until the one-shots exited with 0: an exit code that is not 0
            # raises, and this container is never made
            labels.append(docker.ContainerLabelArgs(
                label=f"{LABEL}.after", value=pulumi.Output.all(*after.values).apply(",".join)))
        if service.replace_when:
            labels.append(docker.ContainerLabelArgs(
                label=f"{LABEL}.replace-when", value=pulumi.Output.all(*service.replace_when).apply(",".join)))
        return labels

    def _volumes(self, service: Service, parent: Optional[pulumi.Resource]) -> list[docker.ContainerVolumeArgs]:
        """The service's data volumes, none without persistData."""
        if not self.settings.persist_data:
            return []
        return [docker.ContainerVolumeArgs(volume_name=self.volume(volume, parent).name, container_path=path)
                for volume, path in service.data]

    @staticmethod
    def _healthcheck(service: Service) -> Optional[docker.ContainerHealthcheckArgs]:
        check = service.healthcheck
        if check is None:
            return None
        return docker.ContainerHealthcheckArgs(
            tests=list(check.test),
            interval=go_duration(check.interval),
            timeout=go_duration(check.timeout),
            retries=check.retries,
            start_period=go_duration(check.start_period),
        )

    def run(self, service: Service, parent: Optional[pulumi.Resource], after: Wait) -> Deployed:
        s = self.settings
        name = s.name(service.container)
        image = self.images.of(service, parent)
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
                docker.ContainerNetworksAdvancedArgs(name=self.network.name, aliases=[service.name],
                                                     gw_priority=READ_BACK_GW_PRIORITY)
            ],
            volumes=self._volumes(service, parent) or None,
            uploads=self._uploads(service) or None,
            healthcheck=self._healthcheck(service),
            restart=service.restart,
            user=str(service.user) if service.user is not None else None,
            hostname=service.hostname,
            # as compose's mem_limit: Docker records swap as twice the memory
            memory=memory,
            memory_swap=2 * memory if memory else None,
            must_run=not service.one_shot,
            attach=service.one_shot or None,
            logs=service.one_shot or None,
            destroy_grace_seconds=STOP_GRACE_SECONDS,
            labels=self._labels(service, after),
            **{field: {} for field in READ_BACK_MAPS},
            opts=self._opts(
                parent=parent,
                depends_on=[image.made_by, *after.resources],
                # fixed names and ports cannot exist twice
                delete_before_replace=True,
                # the provider reports a changed health check but does not apply it
                replace_on_changes=["healthcheck"] if check else None,
                # hosts without swap accounting read the swap limit back as -1
                ignore_changes=["memorySwap"] if memory else None,
            ),
        )
        return Deployed(service.name, container.id, name, self._waits(service, name, container, parent))

    def _waits(self, service: Service, name: str, container: docker.Container,
               parent: Optional[pulumi.Resource]) -> dict[str, Wait]:
        """What a dependent waits for: the container started; its health gate passed; a
        one-shot exited with 0 (or the run fails, naming it)."""
        waits = {"started": Wait((container,))}
        if service.healthcheck:
            gate = health_gate(self.settings, service.name, name, container, service.healthcheck.wait_timeout,
                               parent)
            waits["healthy"] = Wait((gate,))
        if service.one_shot:
            exited = pulumi.Output.all(container.exit_code, container.container_logs).apply(
                lambda result: self._check_exit(name, *result))
            waits["completed"] = Wait((container,), (exited,))
        return waits

    def _check_exit(self, name: str, exit_code: Optional[float], logs: Optional[str]) -> str:
        if exit_code is None or int(exit_code) != 0:
            status = "did not report an exit code" if exit_code is None else f"exited with code {int(exit_code)}"
            tail = log_lines(logs)[-LOG_LINES:]
            said = f"its log ends: {' / '.join(tail)}" if tail else f"it logged nothing (`{self.docker_cli()} logs {name}`)"
            raise OneShotFailed(
                f"{name} {status}; {said}. Fix the cause and run `make up` again, which runs {name} again "
                f"(with plain pulumi: `{self.docker_cli()} rm {name}`, then `pulumi up --refresh`)")
        return name
