"""The stacks of Factor House Local, each a ComponentResource, and what they share."""

from __future__ import annotations

from .analytics import AnalyticsStack
from .flink import FlinkStack
from .kafka import KafkaStack
from .lineage import LineageStack
from .metadata import MetadataStack
from .pinot import PinotStack
from .redis import RedisStack
from .platform import Engine, Platform
from settings import Settings
from .stores import ClickHouseStack, StarRocksStack
from .telemetry import TelemetryStack

# in this order (the summary's); a shared service (Zookeeper, CloudBeaver) is listed under
# the first stack that runs it
STACK_CLASSES = {"kpow": KafkaStack, "flex": FlinkStack, "analytics": AnalyticsStack, "pinot": PinotStack,
                 "telemetry": TelemetryStack, "lineage": LineageStack, "redis": RedisStack,
                 "clickhouse": ClickHouseStack, "starrocks": StarRocksStack,
                 "metadata": MetadataStack}
# the order they are made in: a stack after those whose services it waits for (with
# catalog hive, Flink's jobmanager waits for the analytics stack's metastore), and
# metadata after the stacks it catalogues (kpow, analytics, lineage), and telemetry last
# of all: it scrapes what the others run
BUILD_ORDER = ("kpow", "analytics", "flex", "pinot", "lineage", "redis", "clickhouse", "starrocks", "metadata",
               "telemetry")
assert sorted(BUILD_ORDER) == sorted(STACK_CLASSES), "every stack has its place in BUILD_ORDER"


def build(settings: Settings, engine: Engine) -> Platform:
    """Make every chosen stack on the engine; the platform's outputs are what a user
    reads after `pulumi up`."""
    platform = Platform(settings, engine)
    platform.outputs["stacks"] = list(settings.stacks)
    platform.outputs["edition"] = settings.edition
    made_by: dict[str, list[str]] = {}
    services = {}
    for name in BUILD_ORDER:
        if settings.runs(name):
            before = set(platform.services)
            platform.outputs.update(STACK_CLASSES[name](platform).outputs)
            made_by[name] = [n for n in platform.services if n not in before]
            services.update({n: platform.service_output(n, name) for n in made_by[name]})
    summary = [f"{name}: {', '.join(made_by[name])}" for name in STACK_CLASSES if name in made_by]
    # every service that runs, for the tools that ask the engine about them (make ps,
    # make check): read from the stack, never from a list of their own
    platform.outputs["services"] = services
    platform.outputs.update(engine.outputs())
    platform.outputs["summary"] = (
        f"{engine.describe(len(platform.services))} "
        f"({settings.profile} profile, {settings.edition} edition) - " + "; ".join(summary)
    )
    return platform
