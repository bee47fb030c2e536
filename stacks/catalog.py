"""Default image of every image key (the `images` setting overrides any of them).

Kpow and Flex have one image per edition. `flink` is the base of the PyFlink image that
the program builds; the Flink containers run the built image.
"""

EDITIONS = ("trial", "community")

DEFAULT_IMAGES = {
    # Kafka stack
    "zookeeper": "confluentinc/cp-zookeeper:7.8.0",
    "kafka": "confluentinc/cp-kafka:7.8.0",
    "schema": "confluentinc/cp-schema-registry:7.8.0",
    "connect": "confluentinc/cp-kafka-connect:7.8.0",
    "kpow": {"trial": "factorhouse/kpow:latest", "community": "factorhouse/kpow-ce:latest"},
    # Flink stack
    "flink": "flink:1.20.1",
    "flex": {"trial": "factorhouse/flex:latest", "community": "factorhouse/flex-ce:latest"},
    # Analytics stack. MinIO left Docker Hub; quay.io serves the same tags.
    "spark-iceberg": "tabulario/spark-iceberg:3.5.5_1.8.1",
    "rest": "apache/iceberg-rest-fixture",
    "minio": "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z",
    "mc": "quay.io/minio/mc",
    "postgres": "postgres:17",
    # Pinot stack
    "pinot": "apachepinot/pinot:1.2.0",
}


def default_images(edition: str) -> dict[str, str]:
    """The default image of every key for one edition."""
    return {
        key: image[edition] if isinstance(image, dict) else image
        for key, image in DEFAULT_IMAGES.items()
    }
