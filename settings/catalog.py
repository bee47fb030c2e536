"""Default image of every image key (the `images` setting overrides any of them).

Kpow and Flex have one image per edition; the Kafka cluster's images one per
`kafkaMode` (Confluent Platform 8 has no ZooKeeper: a ZooKeeper the Pinot stack needs is
cp-zookeeper 7.8.0 in both modes). `flink` is the base of the Flink image that the
program builds; the Flink containers run the built image.
"""

EDITIONS = ("trial", "community")
KAFKA_MODES = ("zookeeper", "kraft")
# the analytics stack's catalog: the Iceberg REST catalog (as the seed) or the Hive Metastore
CATALOGS = ("rest", "hive")

DEFAULT_IMAGES = {
    # Kafka stack
    "zookeeper": "confluentinc/cp-zookeeper:7.8.0",
    "kafka": {"zookeeper": "confluentinc/cp-kafka:7.8.0", "kraft": "confluentinc/cp-kafka:8.1.1"},
    "schema": {"zookeeper": "confluentinc/cp-schema-registry:7.8.0", "kraft": "confluentinc/cp-schema-registry:8.1.1"},
    "connect": {"zookeeper": "confluentinc/cp-kafka-connect:7.8.0", "kraft": "confluentinc/cp-kafka-connect:8.1.1"},
    "kpow": {"trial": "factorhouse/kpow:latest", "community": "factorhouse/kpow-ce:latest"},
    # Flink stack
    "flink": "flink:1.20.1",
    "flex": {"trial": "factorhouse/flex:latest", "community": "factorhouse/flex-ce:latest"},
    "redis": "redis:8",
    # Analytics stack. MinIO left Docker Hub; quay.io serves the same tags.
    "spark-iceberg": "tabulario/spark-iceberg:3.5.5_1.8.1",
    "rest": "apache/iceberg-rest-fixture",
    "minio": "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z",
    "mc": "quay.io/minio/mc",
    "postgres": "postgres:17",
    # the Hive Metastore and the Spark that uses it (catalog: hive), as upstream today
    "hive-metastore": "apache/hive:3.1.3",
    "spark": "apache/spark:3.5.5-java17-python3",
    # Pinot stack
    "pinot": "apachepinot/pinot:1.2.0",
    # Telemetry stack
    "prometheus": "prom/prometheus:v3.5.0",
    "alertmanager": "prom/alertmanager:v0.28.1",
    "grafana": "grafana/grafana:12.1.1",
    # Lineage stack
    "marquez-db": "postgres:14",
    "marquez": "marquezproject/marquez:0.51.1",
    "marquez-web": "marquezproject/marquez-web:0.51.1",
    # Store stacks (ClickHouse, StarRocks) and CloudBeaver, which runs with either
    "clickhouse": "clickhouse/clickhouse-server:25.6-alpine",
    "starrocks-fe": "starrocks/fe-ubuntu:3.5-latest",
    "starrocks-be": "starrocks/be-ubuntu:3.5-latest",
    "cloudbeaver": "dbeaver/cloudbeaver:latest",
    # Metadata stack (OpenMetadata 1.11.4, as upstream today); `omt-ingestion` is the base
    # of the ingestion image built here (resources/metadata/ingestion/)
    "omt-db": "docker.getcollate.io/openmetadata/postgresql:1.11.4",
    "omt-es": "docker.elastic.co/elasticsearch/elasticsearch:8.11.4",
    "omt-server": "docker.getcollate.io/openmetadata/server:1.11.4",
    "omt-ingestion": "docker.getcollate.io/openmetadata/ingestion:1.11.4",
}


def default_images(edition: str, kafka_mode: str) -> dict[str, str]:
    """The default image of every key for one edition and one Kafka mode."""
    chosen = (edition, kafka_mode)
    return {
        key: image if isinstance(image, str) else next(image[c] for c in chosen if c in image)
        for key, image in DEFAULT_IMAGES.items()
    }
