"""The stacks of Factor House Local, each a ComponentResource, and what they share."""

from __future__ import annotations

from .analytics import AnalyticsStack
from .flink import FlinkStack
from .kafka import KafkaStack
from .pinot import PinotStack
from .platform import Platform
from .settings import Settings

# in this order; the summary lists a shared service (Zookeeper) under the first stack that runs it
STACK_CLASSES = {"kpow": KafkaStack, "flex": FlinkStack, "analytics": AnalyticsStack, "pinot": PinotStack}


def build(settings: Settings) -> Platform:
    """Make the network and every chosen stack; the platform's outputs are what a user
    reads after `pulumi up`."""
    platform = Platform(settings)
    platform.outputs["stacks"] = list(settings.stacks)
    summary = []
    for name, stack_class in STACK_CLASSES.items():
        if settings.runs(name):
            before = set(platform.containers)
            platform.outputs.update(stack_class(platform).outputs)
            summary.append(f"{name}: {', '.join(n for n in platform.containers if n not in before)}")
    platform.outputs["summary"] = (
        f"{len(platform.containers)} containers on network {settings.name('factorhouse')} "
        f"({settings.profile} profile, {settings.edition} edition) - " + "; ".join(summary)
    )
    return platform
