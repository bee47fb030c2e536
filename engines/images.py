"""The images services run, the same way on every engine: a reference pulled as named
(how is the engine's: `Images.pull`), or an image built by a command step on the Docker
engine the docker CLI reaches, tagged by everything it is made from, with each
downloaded folder of the service baked in by one more build FROM it. A download group's
step is made once, the first time a service needs the group, as a child of that
service's stack.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Optional

import pulumi

from settings import RESOURCES, Settings
from stacks.service import Download, ImageBuild, Service

from .steps import Downloaded, build_step, content_hash, download, work_dir

BAKE_CONTEXT = RESOURCES / "bake"  # FROM a base, COPY one folder to a path


def is_latest(reference: str) -> bool:
    """Whether a reference names the moving `latest` tag (explicitly or by default)."""
    if "@" in reference:
        return False
    last = reference.rsplit("/", 1)[-1]
    return ":" not in last or last.endswith(":latest")


@dataclass(frozen=True)
class Image:
    key: str  # what it is made of, to share one image between services
    reference: pulumi.Input[str]  # what a Dockerfile's FROM or a pod names
    id: pulumi.Output[str]  # what a Docker container runs
    made_by: Optional[pulumi.Resource]  # the resource that pulls or builds it, if any


class Images:
    """Every image of a platform, each pulled or built once however many services run it.

    `registry` (e.g. `registry.corp:5000`) names where built images are pushed, for
    engines that do not run them on the engine that built them; empty: not pushed.
    `platform` (e.g. `linux/amd64`) is the one they are built for; empty: the
    building engine's own."""

    def __init__(self, settings: Settings, registry: str = "", platform: str = ""):
        self.settings = settings
        self.registry = registry
        self.platform = platform
        self._images: dict[str, Image] = {}
        self._downloads: dict[str, Downloaded] = {}

    def pull(self, reference: str) -> Image:
        """The image of a reference, pulled as the engine pulls."""
        raise NotImplementedError

    def _pulled(self, reference: str) -> Image:
        if reference not in self._images:
            self._images[reference] = self.pull(reference)
        return self._images[reference]

    def _downloaded(self, wanted: tuple[tuple[Download, str], ...],
                    parent: pulumi.Resource) -> tuple[tuple[Downloaded, str], ...]:
        """The step of each download group named (made the first time a group is named)."""
        for group in (d.group for d, _ in wanted):
            if group not in self._downloads:
                self._downloads[group] = download(self.settings, work_dir(), group, parent)
        return tuple((self._downloads[d.group], path) for d, path in wanted)

    def _build(self, repository: str, context, base: Image, build_args: dict[str, str],
               add: tuple[tuple[Downloaded, str], ...], parent: pulumi.Resource) -> Image:
        """A content-tagged image built on the engine (see steps.build_step)."""
        # what the image is made from (the folders are named by their content)
        made_of = [repr(sorted(build_args.items())), repr([(d.folder.name, dest) for d, dest in add])]
        if self.platform:
            made_of.append(f"platform={self.platform}")
        key = " ".join([repository, "FROM", base.key, str(context), *made_of])
        if key not in self._images:
            made_of.append(content_hash([context]))  # read once per image, not per service
            name = self.settings.name(repository)
            if self.registry:
                name = f"{self.registry}/{name}"
            tag = pulumi.Output.from_input(base.reference).apply(
                lambda ref: f"{name}:{hashlib.sha256('|'.join([ref, *made_of]).encode()).hexdigest()[:20]}")
            step = build_step(
                self.settings, f"build-{repository.rsplit('/', 1)[-1]}", context, tag,
                build_args={**build_args, "BASE_IMAGE": base.reference},
                add=list(add),
                depends_on=[r for r in (base.made_by, *(d.step for d, _ in add)) if r is not None],
                parent=parent, push=bool(self.registry), platform=self.platform)
            self._images[key] = Image(key, tag, step.stdout, step)
        return self._images[key]

    def _made(self, spec: str | ImageBuild, parent: pulumi.Resource) -> Image:
        """A reference pulled, or an image built on the image its spec names."""
        if isinstance(spec, ImageBuild):
            return self._build(spec.repository, spec.context, self._made(spec.base, parent), dict(spec.build_args),
                               self._downloaded(spec.add, parent), parent)
        return self._pulled(spec)

    def of(self, service: Service, parent: pulumi.Resource) -> Image:
        """The image a service runs: pulled or built, with its downloaded folders baked in."""
        image = self._made(service.image, parent)
        for downloaded, target in self._downloaded(service.downloads, parent):
            image = self._build(f"factorhouse/{downloaded.group}", BAKE_CONTEXT, image, {"TARGET": target},
                                ((downloaded, "files"),), parent)
        return image
