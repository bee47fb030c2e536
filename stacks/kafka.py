"""Kafka stack (docs/services.md, Kafka): the Kafka cluster (ZooKeeper and brokers, or
KRaft nodes), schema registry, Connect, Kpow."""

from __future__ import annotations

import base64
import hashlib

import pulumi

from .factorhouse import asks_login, factorhouse_app
from .lineage import connect_lineage
from .platform import Platform
from .service import Download, File, Service, curl_check
from settings import Settings

JSON_CONVERTER = "org.apache.kafka.connect.json.JsonConverter"
CONTROLLER_PORT = 19091  # KRaft: every node's controller listener, inside the network
# The connector classes each download of the `kafka-connectors` group gives Connect (its
# plugin list names them); `make check` asks Connect for every one.
CONNECTOR_CLASSES = {
    "confluent-s3": ("io.confluent.connect.s3.S3SinkConnector",),
    "debezium-postgres": ("io.debezium.connector.postgresql.PostgresConnector",),
    "msk-datagen": ("com.amazonaws.mskdatagen.GeneratorSourceConnector",),
    "iceberg-kafka-connect": ("io.tabular.iceberg.connect.IcebergSinkConnector",),
}


def broker_count(lite: bool) -> int:
    return 1 if lite else 3


def bootstrap_servers(lite: bool) -> str:
    """Bootstrap servers inside the network, in both modes: kafka-N listens internally on
    19091+N. Every client inside (schema registry, Connect, Kpow) takes them from here."""
    return ",".join(f"kafka-{n}:{19091 + n}" for n in range(1, broker_count(lite) + 1))


def cluster_id(project: str, stack: str) -> str:
    """A KRaft cluster id fixed per Pulumi stack: 16 bytes of SHA-256 of the project and
    stack names, base64url without padding (22 characters, as `kafka-storage random-uuid`
    prints). A node re-made on its kept volume finds the id it was formatted with. The top
    bit is cleared, so that it never starts with '-' (which a command line would read as
    an option)."""
    digest = bytearray(hashlib.sha256(f"{project}/{stack}".encode()).digest()[:16])
    digest[0] &= 0x7F
    return base64.urlsafe_b64encode(bytes(digest)).decode().rstrip("=")


def zookeeper_service(platform: Platform) -> Service:
    """Zookeeper, which the Kafka stack (in zookeeper mode) and Pinot share
    (`Platform.shared`)."""
    return Service(
        name="zookeeper",
        container="zookeeper",
        image=platform.settings.images["zookeeper"],
        ports=((2181, 2181),),
        env={"ZOOKEEPER_CLIENT_PORT": "2181", "ZOOKEEPER_TICK_TIME": "2000"},
        data=(("zookeeper-data", "/var/lib/zookeeper/data"), ("zookeeper-log", "/var/lib/zookeeper/log")),
        data_group=1000,  # appuser
    )


def broker(s: Settings, n: int) -> Service:
    """Broker kafka-N: on ZooKeeper as the seed runs it, or a KRaft node (broker and
    controller at once) as upstream runs cp 8.1.1 today. Each mode has its own data
    volume: a node never starts on data the other mode wrote."""
    brokers = broker_count(s.lite)
    # Replication can be no higher than the number of brokers.
    replication = str(brokers)
    name = f"kafka-{n}"
    internal = 19091 + n
    # cp-kafka listens on the ports of its advertised listeners, so the external port
    # inside the container is the host port (offset included).
    external = s.port(9091 + n)
    listeners = f"LISTENER_DOCKER_INTERNAL://{name}:{internal},LISTENER_DOCKER_EXTERNAL://{s.host_address}:{external}"
    protocols = "LISTENER_DOCKER_INTERNAL:PLAINTEXT,LISTENER_DOCKER_EXTERNAL:PLAINTEXT"
    env = {
        "KAFKA_BROKER_ID": str(n),
        "KAFKA_ADVERTISED_LISTENERS": listeners,
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": protocols,
        "KAFKA_INTER_BROKER_LISTENER_NAME": "LISTENER_DOCKER_INTERNAL",
        "KAFKA_LOG4J_ROOT_LOGLEVEL": "INFO",
        "KAFKA_CONFLUENT_SUPPORT_METRICS_ENABLE": "false",
        "KAFKA_NUM_PARTITIONS": "3",
        "KAFKA_DEFAULT_REPLICATION_FACTOR": replication,
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": replication,
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": replication,
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": str(min(2, brokers)),
    }
    if not s.kraft:
        return Service(
            name=name, container=name, image=s.images["kafka"], ports=((9091 + n, external),),
            env={**env, "KAFKA_ZOOKEEPER_CONNECT": "zookeeper:2181"},
            data=((f"{name}-data", "/var/lib/kafka/data"),), data_group=1000,
            depends_on={"zookeeper": "started"},
        )
    voters = ",".join(f"{v}@kafka-{v}:{CONTROLLER_PORT}" for v in range(1, brokers + 1))
    env.update({
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": voters,
        "CLUSTER_ID": cluster_id(pulumi.get_project(), pulumi.get_stack()),
        # cp 8.1.1 cannot derive the listeners from the advertised ones: named in full
        "KAFKA_LISTENERS": (f"CONTROLLER://{name}:{CONTROLLER_PORT},LISTENER_DOCKER_INTERNAL://{name}:{internal},"
                            f"LISTENER_DOCKER_EXTERNAL://0.0.0.0:{external}"),
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": f"CONTROLLER:PLAINTEXT,{protocols}",
        "KAFKA_LOG_CLEANUP_POLICY": "delete",
        "KAFKA_LOG_RETENTION_BYTES": "524288000",  # 500 MB
        "KAFKA_LOG_SEGMENT_BYTES": "67108864",  # 64 MB segments
        "KAFKA_LOG_RETENTION_MS": "86400000",  # 1 day
        # share groups (KIP-932), as upstream; their state topic replicated as the others
        "KAFKA_GROUP_COORDINATOR_REBALANCE_PROTOCOLS": "classic,consumer,share",
        "KAFKA_SHARE_COORDINATOR_ENABLE": "true",
        "KAFKA_GROUP_SHARE_ENABLE": "true",
        "KAFKA_UNSTABLE_API_VERSIONS_ENABLE": "true",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": replication,
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": str(min(2, brokers)),
    })
    return Service(
        name=name, container=name, image=s.images["kafka"], ports=((9091 + n, external),), env=env,
        data=((f"{name}-kraft-data", "/var/lib/kafka/data"),), data_group=1000,
    )


def schema_registry(s: Settings, after_brokers: dict[str, str]) -> Service:
    """The schema registry with basic auth (its realm: users and passwords)."""
    return Service(
        name="schema",
        container="schema_registry",
        image=s.images["schema"],
        ports=((8081, 8081),),
        env={
            "SCHEMA_REGISTRY_HOST_NAME": "schema",
            # every interface of the container; the host port mapping decides who reaches it
            "SCHEMA_REGISTRY_LISTENERS": "http://0.0.0.0:8081",
            "SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS": bootstrap_servers(s.lite),
            "SCHEMA_REGISTRY_KAFKASTORE_TOPIC_REPLICATION_FACTOR": str(broker_count(s.lite)),
            "SCHEMA_REGISTRY_AUTHENTICATION_METHOD": "BASIC",
            "SCHEMA_REGISTRY_AUTHENTICATION_REALM": "schema",
            "SCHEMA_REGISTRY_AUTHENTICATION_ROLES": "schema-admin",
            "SCHEMA_REGISTRY_OPTS": "-Djava.security.auth.login.config=/etc/schema/schema_jaas.conf",
        },
        files=(File("/etc/schema", "kpow/schema", secret=True),),
        depends_on=after_brokers,
    )


def connect(s: Settings, after_brokers: dict[str, str]) -> Service:
    """Kafka Connect with the downloaded connectors (and, while the lineage stack runs,
    OpenLineage's settings)."""
    replication = str(broker_count(s.lite))
    lineage_env, lineage_files = connect_lineage(s)
    return Service(
        name="connect",
        container="connect",
        image=s.images["connect"],
        ports=((8083, 8083),),
        env={
            "CONNECT_BOOTSTRAP_SERVERS": bootstrap_servers(s.lite),
            "CONNECT_REST_PORT": "8083",
            "CONNECT_GROUP_ID": "kpow-local-connect",
            "CONNECT_CONFIG_STORAGE_TOPIC": "kpow-local-connect-config",
            "CONNECT_OFFSET_STORAGE_TOPIC": "kpow-local-connect-offsets",
            "CONNECT_STATUS_STORAGE_TOPIC": "kpow-local-connect-status",
            "CONNECT_CONFIG_STORAGE_REPLICATION_FACTOR": replication,
            "CONNECT_OFFSET_STORAGE_REPLICATION_FACTOR": replication,
            "CONNECT_STATUS_STORAGE_REPLICATION_FACTOR": replication,
            "CONNECT_KEY_CONVERTER": JSON_CONVERTER,
            "CONNECT_VALUE_CONVERTER": JSON_CONVERTER,
            "CONNECT_INTERNAL_KEY_CONVERTER": JSON_CONVERTER,
            "CONNECT_INTERNAL_VALUE_CONVERTER": JSON_CONVERTER,
            "CONNECT_REST_ADVERTISED_HOST_NAME": "localhost",
            "CONNECT_LOG4J_ROOT_LOGLEVEL": "INFO",
            "CONNECT_PLUGIN_PATH": "/usr/share/java/,/etc/kafka-connect/jars",
            "AWS_REGION": "us-east-1",  # for the Iceberg sink
            **lineage_env,
        },
        files=lineage_files,
        downloads=((Download("kafka-connectors"), "/etc/kafka-connect/jars"),),
        healthcheck=curl_check("http://localhost:8083/", interval=5, timeout=3, retries=10, start_period=20),
        depends_on=after_brokers,
        restart="unless-stopped",
    )


class KafkaStack(pulumi.ComponentResource):
    def __init__(self, platform: Platform, opts: pulumi.ResourceOptions | None = None):
        super().__init__("factorhouse:stacks:Kafka", "kafka", None, opts)
        s = platform.settings
        brokers = broker_count(s.lite)

        if not s.kraft:
            platform.shared(zookeeper_service(platform))
        broker_names = [platform.run(broker(s, n), self).name for n in range(1, brokers + 1)]
        after_brokers = {b: "started" for b in broker_names}
        if not s.kraft:
            after_brokers["zookeeper"] = "started"
        platform.run(schema_registry(s, after_brokers), self)
        platform.run(connect(s, after_brokers), self)
        kpow = factorhouse_app(platform, "kpow", 3000, env={"BOOTSTRAP": bootstrap_servers(s.lite)},
                               depends_on={"connect": "healthy"})
        platform.run(kpow, self)

        # Kpow's login to the schema registry is the registry realm's user: what a client uses
        kpow_env = kpow.environment()
        self.outputs = {
            "kpowUrl": s.url(3000),
            "kafkaBootstrapServers": ",".join(f"{s.host_address}:{s.port(9091 + n)}" for n in range(1, brokers + 1)),
            "schemaRegistryUrl": s.url(8081),
            "kafkaConnectUrl": s.url(8083),
            # what `make check` asks of them (docs/check.md)
            "kafkaBrokerIds": {name: n for n, name in enumerate(broker_names, start=1)},
            "kafkaConnectPlugins": sorted(c for classes in CONNECTOR_CLASSES.values() for c in classes),
            "schemaRegistryUser": kpow_env["SCHEMA_REGISTRY_USER"],
            "schemaRegistryPassword": pulumi.Output.secret(kpow_env["SCHEMA_REGISTRY_PASSWORD"]),
            "kpowLogin": asks_login(kpow),
        }
        self.register_outputs(self.outputs)
