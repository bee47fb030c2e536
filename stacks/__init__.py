"""The stacks of Factor House Local, each a ComponentResource, and what they share."""

from __future__ import annotations

import pulumi

from .kafka import KafkaStack
from .service import Platform
from .settings import PROJECT_DIR, Settings


def build(settings: Settings) -> Platform:
    """Make the network and every chosen stack; the returned platform holds the outputs."""
    platform = Platform(settings)
    work = PROJECT_DIR / ".work" / pulumi.get_stack()
    outputs: dict[str, object] = {"stacks": list(settings.stacks)}
    if settings.runs("kpow"):
        outputs.update(KafkaStack(platform, connectors=work / "connectors" / "kafka").outputs)
    platform.outputs = outputs
    return platform
