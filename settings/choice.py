"""The choice of what runs: the stacks, the edition, the profile, the Kafka mode and the
analytics stack's catalog.
"""

from __future__ import annotations

from .catalog import CATALOGS, EDITIONS, KAFKA_MODES
from .config import one_of

STACKS = ("kpow", "flex", "analytics", "pinot", "telemetry", "lineage", "redis", "clickhouse", "starrocks",
          "metadata")
PROFILES = ("full", "lite")


def chosen_stacks(values: dict, errors: list[str]) -> tuple[str, ...]:
    """The stacks to run, in the fixed order of STACKS whatever order the user gave."""
    stacks = values["stacks"]
    if not stacks or not all(isinstance(s, str) for s in stacks):
        errors.append(f"stacks: {stacks!r} is not allowed; give a non-empty list from {', '.join(STACKS)}")
        return ()
    unknown = [s for s in stacks if s not in STACKS]
    if unknown:
        errors.append(f"stacks: {', '.join(map(repr, unknown))} is not allowed; use any of {', '.join(STACKS)}")
    return tuple(s for s in STACKS if s in stacks)


def check_choices(values: dict, errors: list[str]) -> None:
    one_of("edition", values["edition"], EDITIONS, errors)
    one_of("profile", values["profile"], PROFILES, errors)
    one_of("kafkaMode", values["kafkaMode"], KAFKA_MODES, errors)
    one_of("catalog", values["catalog"], CATALOGS, errors)


def check_catalog(values: dict, chosen: tuple[str, ...], errors: list[str]) -> None:
    """The Hive Metastore runs in the analytics stack (on its Postgres and MinIO), and its
    Spark runs no Thrift server."""
    if values["catalog"] != "hive":
        return
    if chosen and "analytics" not in chosen:
        errors.append("catalog: 'hive' needs the analytics stack (the metastore runs there, on its Postgres and "
                      "MinIO); add analytics to stacks, or set catalog rest")
    if values["sparkThriftPorts"]:
        errors.append("sparkThriftPorts: true has no meaning with catalog hive (its Spark runs the history server, "
                      "no Thrift server); remove it with `pulumi config rm sparkThriftPorts`")
