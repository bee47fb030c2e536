"""Flink's pipeline source of OpenMetadata's ingestion, with the lineage edges that the
service's connection options declare (lineage_map.py) beside those Flink's source finds.

A service of type CustomPipeline names this module's class (`sourcePythonClass`) and
gives `hostPort` (Flink's REST address, e.g. http://jobmanager:8081) and `lineage` in
its connection options; a plain Flink service works as with Flink's own source.
"""

from __future__ import annotations

import logging
from typing import Iterable, Optional

from metadata.generated.schema.api.lineage.addLineage import AddLineageRequest
from metadata.generated.schema.entity.data.container import Container
from metadata.generated.schema.entity.data.pipeline import Pipeline
from metadata.generated.schema.entity.data.table import Table
from metadata.generated.schema.entity.data.topic import Topic
from metadata.generated.schema.entity.services.connections.pipeline.customPipelineConnection import (
    CustomPipelineConnection,
)
from metadata.generated.schema.entity.services.connections.pipeline.flinkConnection import FlinkConnection
from metadata.generated.schema.metadataIngestion.workflow import Source as WorkflowSource
from metadata.generated.schema.type.entityLineage import EntitiesEdge
from metadata.generated.schema.type.entityReference import EntityReference
from metadata.ingestion.api.models import Either
from metadata.ingestion.api.steps import InvalidSourceException
from metadata.ingestion.ometa.ometa_api import OpenMetadata
from metadata.ingestion.source.pipeline.flink.metadata import FlinkSource
from metadata.utils import fqn as fqn_utils

from .lineage_map import edges, parse

logger = logging.getLogger(__name__)
ENTITIES = {"table": Table, "topic": Topic, "pipeline": Pipeline, "container": Container}


class FlinkWithLineage(FlinkSource):
    lineage: dict = {}

    @classmethod
    def create(cls, config_dict, metadata: OpenMetadata, pipeline_name: Optional[str] = None):
        config = WorkflowSource.model_validate(config_dict)
        connection = config.serviceConnection.root.config
        lineage = {}
        if isinstance(connection, CustomPipelineConnection):
            options = connection.connectionOptions.root if connection.connectionOptions else {}
            lineage = parse(options.get("lineage"))
            config.serviceConnection.root.config = FlinkConnection(
                hostPort=options.get("hostPort"), verifySSL=options.get("verifySSL", "no-ssl"))
        elif not isinstance(connection, FlinkConnection):
            raise InvalidSourceException(f"a Flink or custom pipeline connection is needed, not {type(connection)}")
        source = cls(config, metadata)
        source.lineage = lineage
        return source

    def yield_pipeline_lineage_details(self, pipeline_details) -> Iterable[Either[AddLineageRequest]]:
        yield from super().yield_pipeline_lineage_details(pipeline_details)
        declared, skipped = edges(self.lineage, pipeline_details.name)
        for line in skipped:
            logger.warning(line)
        if not declared:
            return
        pipeline = self.metadata.get_by_name(entity=Pipeline, fqn=fqn_utils.build(
            self.metadata, entity_type=Pipeline, service_name=self.context.get().pipeline_service,
            pipeline_name=pipeline_details.name))
        if pipeline is None:
            return
        job = EntityReference(id=pipeline.id, type="pipeline")
        for edge in declared:
            entity = self.metadata.get_by_name(entity=ENTITIES[edge.entity_type], fqn=edge.fqn)
            if entity is None:
                logger.warning("%s: no %s %s in OpenMetadata (yet)", pipeline_details.name, edge.entity_type, edge.fqn)
                continue
            other = EntityReference(id=entity.id, type=edge.entity_type)
            pair = (other, job) if edge.direction == "upstream" else (job, other)
            yield Either(right=AddLineageRequest(edge=EntitiesEdge(fromEntity=pair[0], toEntity=pair[1])))


def _spec():
    from metadata.utils.service_spec import BaseSpec
    return BaseSpec(metadata_source_class=FlinkWithLineage)


# how OpenMetadata's ingestion finds the source of a module a service names
ServiceSpec = _spec()
