"""What runs: a service description that reads like a compose entry.

A `Service` says what a container is made of (image, settings, files, downloaded
folders, ports, health, start order), never how an engine delivers it: the engines
(`engines/docker.py`, `engines/kubernetes.py`) decide how files, downloaded folders,
data and health checks are delivered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Union

import pulumi

from settings import RESOURCES
from settings.envfile import read_env_file

# Settings whose values are credentials: every engine keeps them secret (Pulumi secrets;
# on Kubernetes, in a Secret).
_CREDENTIAL = re.compile(r"PASSWORD|SECRET|LICENSE|CREDENTIAL")


class MissingResource(pulumi.RunError):
    """A file of resources/ that a container gets is gone: one line, no traceback."""


def is_credential(key: str) -> bool:
    """Whether a setting's value is a credential, by its name."""
    return bool(_CREDENTIAL.search(key))

# How long `pulumi up` waits at least for a health check to pass: first starts on a
# laptop (JVM services, Connect scanning its plugins) take minutes.
MIN_WAIT_SECONDS = 300


@dataclass(frozen=True)
class HealthCheck:
    test: tuple[str, ...]  # as in compose: ("CMD", "curl", "-f", URL)
    interval: int  # seconds
    timeout: int
    retries: int
    start_period: int = 0

    @property
    def wait_timeout(self) -> int:
        """Seconds to wait for `healthy`: the check's own window, and at least MIN_WAIT_SECONDS."""
        window = self.start_period + (self.interval + self.timeout) * (self.retries + 1)
        return max(MIN_WAIT_SECONDS, window)


def curl_check(url: str, interval: int, timeout: int, retries: int, start_period: int = 0) -> HealthCheck:
    return HealthCheck(("CMD", "curl", "-f", url), interval, timeout, retries, start_period)


def wget_check(url: str, interval: int, timeout: int, retries: int, start_period: int = 0) -> HealthCheck:
    """As curl_check, with wget (busybox's, in images without curl); fails on HTTP errors."""
    return HealthCheck(("CMD", "wget", "-q", "-O", "/dev/null", url), interval, timeout, retries, start_period)


@dataclass(frozen=True)
class FileEntry:
    target: str  # path in the container
    text: pulumi.Input[str]  # an Output only when secret (it holds a credential)
    executable: bool
    secret: bool  # holds credentials (a login realm): kept as a secret by every engine


@dataclass(frozen=True)
class File:
    """A file the container reads at `target`: a file or a folder (every file in it, at
    the same relative paths) of resources/, or text the program makes. `secret`: it
    holds credentials (users and passwords of a login realm, a password of a setting);
    only a secret file's content may be an Output (a setting's secret value in it)."""

    target: str
    source: Optional[str] = None  # relative to resources/
    content: Optional[pulumi.Input[str]] = None
    secret: bool = False

    def __post_init__(self):
        if (self.source is None) == (self.content is None):
            raise ValueError(f"{self.target}: give a source or a content, not both")
        if isinstance(self.content, pulumi.Output) and not self.secret:
            raise ValueError(f"{self.target}: a content made from settings holds a credential; make it secret")

    def expand(self) -> list[FileEntry]:
        """Every file, in a fixed order; MissingResource when its source is gone."""
        if self.content is not None:
            return [FileEntry(self.target, self.content, False, self.secret)]
        root = RESOURCES / self.source
        if not root.exists():
            where = root.relative_to(RESOURCES.parent)
            raise MissingResource(f"{where} is missing (the file that {self.target} is made from); "
                                  f"restore it with `git checkout -- {where}`, then run `make up` again")
        if root.is_file():
            return [FileEntry(self.target, root.read_text(), bool(root.stat().st_mode & 0o111), self.secret)]
        return [
            FileEntry(f"{self.target.rstrip('/')}/{path.relative_to(root).as_posix()}", path.read_text(),
                      bool(path.stat().st_mode & 0o111), self.secret)
            for path in sorted(p for p in root.rglob("*") if p.is_file())
        ]


@dataclass(frozen=True)
class Download:
    """A group of resources/downloads.yaml that a service (or an image made here) gets,
    by name: the engines make the one step that lays it out on this machine, verified and
    cached (engines/steps.py), the first time a service needs it."""

    group: str  # e.g. kafka-connectors


@dataclass(frozen=True)
class ImageBuild:
    """An image made here: a folder of resources/ with a Dockerfile, on a base image (the
    build argument BASE_IMAGE: a reference, or another image made here), with downloaded
    folders put into the build context."""

    repository: str  # before the name prefix, e.g. factorhouse/flink
    context: Path
    base: Union[str, "ImageBuild"]
    build_args: Mapping[str, str] = field(default_factory=dict)
    add: tuple[tuple[Download, str], ...] = ()  # (download, folder inside the context)


@dataclass(frozen=True)
class Metrics:
    """An endpoint of a service that serves metrics in Prometheus's exposition format,
    at http://<service name>:<port><path> inside the network. The telemetry stack
    scrapes every endpoint of the services that run, and nothing else."""

    job: str  # Prometheus's job name; the endpoints of one job share path, prefix and rules
    port: int  # in the container (the endpoints need not be published)
    path: str = "/metrics"
    prefix: str = ""  # put before every metric name on scrape (Kpow's `kpow_`, Flex's `flex_`)
    rules: Optional[str] = None  # alert rules on these metrics: a file of resources/


@dataclass(frozen=True)
class Service:
    name: str  # name on the network (alias) and Pulumi name
    container: str  # upstream container name, before the prefix
    image: Union[str, ImageBuild]  # a reference to pull, or an image made here
    ports: tuple[tuple[int, int], ...] = ()  # (upstream host port, container port)
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    env_files: tuple[Path, ...] = ()  # read as compose reads env_file; `env` wins
    files: tuple[File, ...] = ()
    downloads: tuple[tuple[Download, str], ...] = ()  # (downloaded folder, path in the container)
    data: tuple[tuple[str, str], ...] = ()  # (volume name, container path): kept data
    # the group the image writes its data as, where that is not root (Confluent's
    # appuser: 1000): Docker gives a new volume the image's own ownership, while an
    # engine whose volumes start empty (Kubernetes) gives them to this group
    data_group: Optional[int] = None
    command: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    healthcheck: Optional[HealthCheck] = None
    # service -> "started", "healthy" (it has a health check) or "completed" (a one-shot
    # that exited with 0), as in compose
    depends_on: Mapping[str, str] = field(default_factory=dict)
    restart: str = "no"
    memory_mb: Optional[int] = None
    # the uid the container runs as, where not the image's own (compose's `user:`)
    user: Optional[int] = None
    # the container's own host name, where the service records it and needs it stable
    # across re-creations (compose's `hostname:`); others reach it by `name` either way
    hostname: Optional[str] = None
    one_shot: bool = False  # runs to completion (`pulumi up` waits for it), then stays exited
    replace_when: tuple[pulumi.Input[str], ...] = ()  # values whose change re-creates it
    metrics: tuple[Metrics, ...] = ()  # what Prometheus scrapes of it (the telemetry stack)

    def environment(self) -> dict[str, pulumi.Input[str]]:
        """Its settings as compose gives them: the env files in order, then `env`."""
        values: dict[str, pulumi.Input[str]] = {}
        for path in self.env_files:
            values.update(read_env_file(path))
        values.update(self.env)
        return values

    def file_list(self) -> list[FileEntry]:
        """Every file, in path order; ValueError when two go to the same path."""
        files = sorted((f for file in self.files for f in file.expand()), key=lambda f: f.target)
        targets = [f.target for f in files]
        if len(set(targets)) != len(targets):
            raise ValueError(f"{self.name}: two files go to the same path in {targets}")
        return files
