"""The lineage a Flink service's connection options declare, read without OpenMetadata.

The option `lineage` maps a Flink job's name to the entities it reads and writes:

    {"orders-enrich": {"upstream": [{"type": "topic", "fqn": "kafka.orders"}],
                       "downstream": [{"type": "table", "fqn": "iceberg.default.db.orders"}]}}

given as JSON text (how the UI stores a custom option) or as a mapping.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

ENTITY_TYPES = ("table", "topic", "pipeline", "container")


@dataclass(frozen=True)
class Edge:
    """One declared edge of a job: `upstream` (the entity feeds the job) or `downstream`."""

    direction: str
    entity_type: str
    fqn: str


def parse(option: Any) -> dict[str, Any]:
    """The `lineage` option as a mapping; ValueError naming what is wrong."""
    if option in (None, ""):
        return {}
    value = json.loads(option) if isinstance(option, str) else option
    if not isinstance(value, Mapping):
        raise ValueError("the lineage option is not a mapping of job names")
    return dict(value)


def edges(lineage: Mapping[str, Any], job: str) -> tuple[list[Edge], list[str]]:
    """The declared edges of a job, and a line for each entry that is not one (unknown
    type, no fqn): those are skipped, never guessed."""
    found, skipped = [], []
    declared = lineage.get(job) or {}
    for direction in ("upstream", "downstream"):
        for item in declared.get(direction, []) or []:
            kind = str((item or {}).get("type", "")).lower()
            fqn = (item or {}).get("fqn")
            if kind in ENTITY_TYPES and fqn:
                found.append(Edge(direction, kind, str(fqn)))
            else:
                skipped.append(f"{job}: {direction} entry {item!r} needs a type of {', '.join(ENTITY_TYPES)} and a fqn")
    return found, skipped
