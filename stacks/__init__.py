"""The stacks of Factor House Local, each a ComponentResource, and what they share."""

from __future__ import annotations

from .analytics import AnalyticsStack
from .flink import FlinkStack
from .kafka import KafkaStack
from .pinot import PinotStack
from .platform import Engine, Platform
from .settings import Settings

# in this order; the summary lists a shared service (Zookeeper) under the first stack that runs it
STACK_CLASSES = {"kpow": KafkaStack, "flex": FlinkStack, "analytics": AnalyticsStack, "pinot": PinotStack}


def build(settings: Settings, engine: Engine) -> Platform:
    """Make every chosen stack on the engine; the platform's outputs are what a user
    reads after `pulumi up`."""
    platform = Platform(settings, engine)
    platform.outputs["stacks"] = list(settings.stacks)
    platform.outputs["edition"] = settings.edition
    summary = []
    services = {}
    for name, stack_class in STACK_CLASSES.items():
        if settings.runs(name):
            before = set(platform.services)
            platform.outputs.update(stack_class(platform).outputs)
            made = [n for n in platform.services if n not in before]
            services.update({n: platform.service_output(n, name) for n in made})
            summary.append(f"{name}: {', '.join(made)}")
    # every service that runs, for the tools that ask the engine about them (make ps,
    # make check): read from the stack, never from a list of their own
    platform.outputs["services"] = services
    platform.outputs.update(engine.outputs())
    platform.outputs["summary"] = (
        f"{engine.describe(len(platform.services))} "
        f"({settings.profile} profile, {settings.edition} edition) - " + "; ".join(summary)
    )
    return platform
