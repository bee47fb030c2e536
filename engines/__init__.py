"""The engines that run the platform's services: how, where the stacks say what."""

from __future__ import annotations

from settings import Settings
from stacks.platform import Engine

from . import reach


def engine_for(settings: Settings) -> Engine:
    """The engine the `engine` setting names, once it answered and proved to be the one
    the stack's resources live on (engines/reach.py); its identity becomes the stack's
    `engine` output, which the next run compares with."""
    identity = reach.reach(settings)
    reach.check_same(identity, reach.previous())
    if settings.engine == "kubernetes":
        from .kubernetes import KubernetesEngine
        return KubernetesEngine(settings, identity)
    from .docker import DockerEngine
    return DockerEngine(settings, identity)
