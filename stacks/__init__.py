"""The stacks of Factor House Local, each a ComponentResource, and what they share."""

from __future__ import annotations

from .analytics import AnalyticsStack
from .flink import FlinkStack
from .kafka import KafkaStack
from .lineage import LineageStack
from .pinot import PinotStack
from .platform import Engine, Platform
from .settings import Settings
from .telemetry import TelemetryStack

# in this order (a stack that WATCHES_OTHERS, as telemetry, after all the others); the
# summary lists a shared service (Zookeeper) under the first stack that runs it
STACK_CLASSES = {"kpow": KafkaStack, "flex": FlinkStack, "analytics": AnalyticsStack, "pinot": PinotStack,
                 "telemetry": TelemetryStack, "lineage": LineageStack}


def build(settings: Settings, engine: Engine) -> Platform:
    """Make every chosen stack on the engine; the platform's outputs are what a user
    reads after `pulumi up`."""
    platform = Platform(settings, engine)
    platform.outputs["stacks"] = list(settings.stacks)
    summary = []
    services = {}
    for name, stack_class in sorted(STACK_CLASSES.items(), key=lambda item: getattr(item[1], "WATCHES_OTHERS", False)):
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
