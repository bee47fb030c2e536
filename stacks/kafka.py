"""Kafka stack (docs/services.md, Kafka): Zookeeper, brokers, schema registry, Connect, Kpow."""

from __future__ import annotations

import pulumi

from .factorhouse import factorhouse_app
from .platform import Platform
from .service import File, Service, curl_check
from .setup import download

JSON_CONVERTER = "org.apache.kafka.connect.json.JsonConverter"


def broker_count(lite: bool) -> int:
    return 1 if lite else 3


def bootstrap_servers(lite: bool) -> str:
    """Bootstrap servers inside the network: kafka-N listens internally on 19091+N."""
    return ",".join(f"kafka-{n}:{19091 + n}" for n in range(1, broker_count(lite) + 1))


def zookeeper_service(platform: Platform) -> Service:
    """Zookeeper, which the Kafka and Pinot stacks share (`Platform.shared`)."""
    return Service(
        name="zookeeper",
        container="zookeeper",
        image=platform.settings.images["zookeeper"],
        ports=((2181, 2181),),
        env={"ZOOKEEPER_CLIENT_PORT": "2181", "ZOOKEEPER_TICK_TIME": "2000"},
        data=(("zookeeper-data", "/var/lib/zookeeper/data"), ("zookeeper-log", "/var/lib/zookeeper/log")),
    )


class KafkaStack(pulumi.ComponentResource):
    def __init__(self, platform: Platform, opts: pulumi.ResourceOptions | None = None):
        super().__init__("factorhouse:stacks:Kafka", "kafka", None, opts)
        s = platform.settings
        brokers = broker_count(s.lite)
        bootstrap = bootstrap_servers(s.lite)
        # Replication can be no higher than the number of brokers.
        replication = str(brokers)
        connectors = download(s, platform.work_dir, "kafka-connectors", self)

        platform.shared(zookeeper_service(platform))

        broker_names = []
        for n in range(1, brokers + 1):
            internal = 19091 + n
            # cp-kafka listens on the ports of its advertised listeners, so the external
            # port inside the container is the host port (offset included).
            external = s.port(9091 + n)
            name = f"kafka-{n}"
            broker_names.append(name)
            platform.run(Service(
                name=name,
                container=name,
                image=s.images["kafka"],
                ports=((9091 + n, external),),
                env={
                    "KAFKA_BROKER_ID": str(n),
                    "KAFKA_ZOOKEEPER_CONNECT": "zookeeper:2181",
                    "KAFKA_ADVERTISED_LISTENERS": (
                        f"LISTENER_DOCKER_INTERNAL://{name}:{internal},"
                        f"LISTENER_DOCKER_EXTERNAL://{s.host_address}:{external}"
                    ),
                    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "LISTENER_DOCKER_INTERNAL:PLAINTEXT,LISTENER_DOCKER_EXTERNAL:PLAINTEXT",
                    "KAFKA_INTER_BROKER_LISTENER_NAME": "LISTENER_DOCKER_INTERNAL",
                    "KAFKA_LOG4J_ROOT_LOGLEVEL": "INFO",
                    "KAFKA_CONFLUENT_SUPPORT_METRICS_ENABLE": "false",
                    "KAFKA_NUM_PARTITIONS": "3",
                    "KAFKA_DEFAULT_REPLICATION_FACTOR": replication,
                    "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": replication,
                    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": replication,
                    "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": str(min(2, brokers)),
                },
                data=((f"{name}-data", "/var/lib/kafka/data"),),
                depends_on={"zookeeper": "started"},
            ), self)
        after_brokers = {"zookeeper": "started", **{b: "started" for b in broker_names}}

        platform.run(Service(
            name="schema",
            container="schema_registry",
            image=s.images["schema"],
            ports=((8081, 8081),),
            env={
                "SCHEMA_REGISTRY_HOST_NAME": "schema",
                # every interface of the container; the host port mapping decides who reaches it
                "SCHEMA_REGISTRY_LISTENERS": "http://0.0.0.0:8081",
                "SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS": bootstrap,
                "SCHEMA_REGISTRY_KAFKASTORE_TOPIC_REPLICATION_FACTOR": replication,
                "SCHEMA_REGISTRY_AUTHENTICATION_METHOD": "BASIC",
                "SCHEMA_REGISTRY_AUTHENTICATION_REALM": "schema",
                "SCHEMA_REGISTRY_AUTHENTICATION_ROLES": "schema-admin",
                "SCHEMA_REGISTRY_OPTS": "-Djava.security.auth.login.config=/etc/schema/schema_jaas.conf",
            },
            files=(File("/etc/schema", "kpow/schema"),),
            depends_on=after_brokers,
        ), self)

        platform.run(Service(
            name="connect",
            container="connect",
            image=s.images["connect"],
            ports=((8083, 8083),),
            env={
                "CONNECT_BOOTSTRAP_SERVERS": bootstrap,
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
            },
            downloads=((connectors, "/etc/kafka-connect/jars"),),
            healthcheck=curl_check("http://localhost:8083/", interval=5, timeout=3, retries=10, start_period=20),
            depends_on=after_brokers,
            restart="unless-stopped",
        ), self)

        platform.run(factorhouse_app(platform, "kpow", 3000, env={"BOOTSTRAP": bootstrap},
                                     depends_on={"connect": "healthy"}), self)

        self.outputs = {
            "kpowUrl": s.url(3000),
            "kafkaBootstrapServers": ",".join(f"{s.host_address}:{s.port(9091 + n)}" for n in range(1, brokers + 1)),
            "schemaRegistryUrl": s.url(8081),
            "kafkaConnectUrl": s.url(8083),
        }
        self.register_outputs(self.outputs)
