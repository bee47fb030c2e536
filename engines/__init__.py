"""The engines that run the platform's services: how, where the stacks say what."""

from __future__ import annotations

from stacks.platform import Engine
from stacks.settings import Settings


def engine_for(settings: Settings) -> Engine:
    """The engine the `engine` setting names."""
    if settings.engine == "kubernetes":
        from .kubernetes import KubernetesEngine
        return KubernetesEngine(settings)
    from .docker import DockerEngine
    return DockerEngine(settings)
