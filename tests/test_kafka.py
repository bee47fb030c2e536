"""The Kafka stack of docs/services.md, under mocks."""

import json

import pytest

from harness import COMMAND, IMAGE, PROJECT_DIR, check_factorhouse_app, resource_files, run_program
from test_logins import UPSTREAM_KAFKA_ENV

RESOURCES = PROJECT_DIR / "resources"
BOOTSTRAP = "kafka-1:19092,kafka-2:19093,kafka-3:19094"
KAFKA = {"stacks": json.dumps(["kpow"])}


@pytest.fixture(scope="module")
def run():
    return run_program(KAFKA)


def test_only_the_kafka_stack_is_made(run):
    assert set(run.containers) == {"zookeeper", "kafka-1", "kafka-2", "kafka-3", "schema", "connect", "kpow"}


@pytest.mark.parametrize("service, image, container, ports", [
    ("zookeeper", "confluentinc/cp-zookeeper:7.8.0", "zookeeper", [("127.0.0.1", 2181, 2181)]),
    ("kafka-1", "confluentinc/cp-kafka:7.8.0", "kafka-1", [("127.0.0.1", 9092, 9092)]),
    ("kafka-2", "confluentinc/cp-kafka:7.8.0", "kafka-2", [("127.0.0.1", 9093, 9093)]),
    ("kafka-3", "confluentinc/cp-kafka:7.8.0", "kafka-3", [("127.0.0.1", 9094, 9094)]),
    ("schema", "confluentinc/cp-schema-registry:7.8.0", "schema_registry", [("127.0.0.1", 8081, 8081)]),
    ("connect", "confluentinc/cp-kafka-connect:7.8.0", "connect", [("127.0.0.1", 8083, 8083)]),
])
def test_image_container_and_ports(run, service, image, container, ports):
    assert run.image_of(service) == image
    assert run.container(service)["name"] == container
    assert run.ports(service) == ports


def test_every_container_is_on_the_shared_network_under_its_service_name(run):
    for name, container in run.containers.items():
        assert container["networksAdvanced"] == [{"name": "factorhouse", "aliases": [name], "gwPriority": 0}]
        assert "network" in run.depends_on(container)


def test_zookeeper(run):
    env = run.env("zookeeper")
    assert env["ZOOKEEPER_CLIENT_PORT"] == "2181" and env["ZOOKEEPER_TICK_TIME"] == "2000"


@pytest.mark.parametrize("n, internal, external", [(1, 19092, 9092), (2, 19093, 9093), (3, 19094, 9094)])
def test_brokers(run, n, internal, external):
    env = run.env(f"kafka-{n}")
    assert env == {
        "KAFKA_BROKER_ID": str(n),
        "KAFKA_ZOOKEEPER_CONNECT": "zookeeper:2181",
        "KAFKA_ADVERTISED_LISTENERS": f"LISTENER_DOCKER_INTERNAL://kafka-{n}:{internal},LISTENER_DOCKER_EXTERNAL://127.0.0.1:{external}",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "LISTENER_DOCKER_INTERNAL:PLAINTEXT,LISTENER_DOCKER_EXTERNAL:PLAINTEXT",
        "KAFKA_INTER_BROKER_LISTENER_NAME": "LISTENER_DOCKER_INTERNAL",
        "KAFKA_LOG4J_ROOT_LOGLEVEL": "INFO",
        "KAFKA_CONFLUENT_SUPPORT_METRICS_ENABLE": "false",
        "KAFKA_NUM_PARTITIONS": "3",
        "KAFKA_DEFAULT_REPLICATION_FACTOR": "3",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "3",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "3",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "2",
    }
    assert run.depends_on(run.container(f"kafka-{n}")) >= {"zookeeper"}
    assert run.mounts(f"kafka-{n}")["/var/lib/kafka/data"]["volumeName"] == f"kafka-{n}-data"


def test_schema_registry(run):
    env = run.env("schema")
    assert env["SCHEMA_REGISTRY_HOST_NAME"] == "schema"
    assert env["SCHEMA_REGISTRY_LISTENERS"] == "http://0.0.0.0:8081"
    assert env["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"] == BOOTSTRAP
    assert env["SCHEMA_REGISTRY_AUTHENTICATION_METHOD"] == "BASIC"
    assert env["SCHEMA_REGISTRY_AUTHENTICATION_REALM"] == "schema"
    assert env["SCHEMA_REGISTRY_AUTHENTICATION_ROLES"] == "schema-admin"
    assert env["SCHEMA_REGISTRY_OPTS"] == "-Djava.security.auth.login.config=/etc/schema/schema_jaas.conf"
    assert run.files("schema") == {f"/etc/schema/{n}": t for n, t in resource_files("kpow/schema").items()}
    assert run.depends_on(run.container("schema")) >= {"zookeeper", "kafka-1", "kafka-2", "kafka-3"}


def test_schema_registry_auth_files_agree():
    jaas = (RESOURCES / "kpow/schema/schema_jaas.conf").read_text()
    assert jaas.lstrip().startswith("schema {")  # the realm
    assert "org.eclipse.jetty.jaas.spi.PropertyFileLoginModule" in jaas
    assert 'file="/etc/schema/schema_realm.properties"' in jaas


def test_connect(run):
    env = run.env("connect")
    expected = {
        "CONNECT_BOOTSTRAP_SERVERS": BOOTSTRAP,
        "CONNECT_REST_PORT": "8083",
        "CONNECT_GROUP_ID": "kpow-local-connect",
        "CONNECT_CONFIG_STORAGE_TOPIC": "kpow-local-connect-config",
        "CONNECT_OFFSET_STORAGE_TOPIC": "kpow-local-connect-offsets",
        "CONNECT_STATUS_STORAGE_TOPIC": "kpow-local-connect-status",
        "CONNECT_REST_ADVERTISED_HOST_NAME": "localhost",
        "CONNECT_LOG4J_ROOT_LOGLEVEL": "INFO",
        "CONNECT_PLUGIN_PATH": "/usr/share/java/,/etc/kafka-connect/jars",
        "AWS_REGION": "us-east-1",
    }
    for converter in ("KEY", "VALUE", "INTERNAL_KEY", "INTERNAL_VALUE"):
        expected[f"CONNECT_{converter}_CONVERTER"] = "org.apache.kafka.connect.json.JsonConverter"
    assert {k: env[k] for k in expected} == expected
    connect = run.container("connect")
    assert connect["restart"] == "unless-stopped"
    assert connect["healthcheck"] == {
        "tests": ["CMD", "curl", "-f", "http://localhost:8083/"],
        "interval": "5s", "timeout": "3s", "retries": 10, "startPeriod": "20s",
    }
    assert connect.replace_on_changes == ["healthcheck"]
    gate = run.gate("connect")
    assert gate["create"].endswith(" connect") and "--timeout 300" in gate["create"]
    assert run.depends_on(connect) >= {"zookeeper", "kafka-1", "kafka-2", "kafka-3"}


def test_connect_runs_its_image_with_the_connectors_baked_in(run):
    # no bind mount: the downloaded folder goes into an image built on the engine
    assert run.mounts("connect") == {}
    assert run.image_chain("connect") == ["build-kafka-connectors", "confluentinc/cp-kafka-connect:7.8.0"]
    bake = run.one(COMMAND, "build-kafka-connectors")
    download = run.one(COMMAND, "download-kafka-connectors")
    folder = download["create"].split("--dest ")[1].split()[0]
    assert run.option(bake, "--add") == f"{folder}=files"
    assert run.option(bake, "--context") == str(RESOURCES / "bake")
    assert run.build_args(bake) == {"BASE_IMAGE": "confluentinc/cp-kafka-connect:7.8.0",
                                    "TARGET": "/etc/kafka-connect/jars"}
    assert run.option(bake, "--tag").startswith("factorhouse/kafka-connectors:")
    assert folder.startswith(str(PROJECT_DIR / ".work" / "dev" / "downloads" / "kafka-connectors-"))
    assert {"download-kafka-connectors", "image-confluentinc-cp-kafka-connect-7.8.0"} <= run.depends_on(bake)
    assert "build-kafka-connectors" in run.depends_on(run.container("connect"))


def test_kpow_trial(run):
    env = check_factorhouse_app(run, "kpow", 3000, waits_for="connect", login=True)
    # upstream's settings (the full profile's bootstrap servers are upstream's too)
    assert {k: env[k] for k in UPSTREAM_KAFKA_ENV} == UPSTREAM_KAFKA_ENV
    assert UPSTREAM_KAFKA_ENV["BOOTSTRAP"] == BOOTSTRAP


def test_kpow_is_pulled_once_without_asking_the_registry(run):
    image = run.one(IMAGE, "image-factorhouse-kpow-latest")
    assert image["name"] == "factorhouse/kpow:latest" and image.get("pullTriggers") is None


def test_follow_latest_asks_the_registry_and_pulls_by_digest():
    run = run_program({**KAFKA, "followLatest": "true"})
    image = run.one(IMAGE, "image-factorhouse-kpow-latest")
    reference, digest = image["name"].split("@", 1)
    assert reference == "factorhouse/kpow:latest" and image["pullTriggers"] == [digest]
    # pinned tags are never looked up
    assert run.one(IMAGE, "image-confluentinc-cp-kafka-7.8.0")["name"] == "confluentinc/cp-kafka:7.8.0"


def test_kpow_community():
    run = run_program({**KAFKA, "edition": "community"})
    kpow = run.container("kpow")
    assert kpow["name"] == "kpow-ce"
    assert run.image_of("kpow") == "factorhouse/kpow-ce:latest"
    env = run.env("kpow")
    assert "AUTH_PROVIDER_TYPE" not in env and "RBAC_CONFIGURATION_FILE" not in env
    assert run.files("kpow") == {}
    assert "LICENSE_CODE" in env


def test_outputs(run):
    assert {k: run.outputs[k] for k in ("kpowUrl", "kafkaBootstrapServers", "schemaRegistryUrl", "kafkaConnectUrl")} == {
        "kpowUrl": "http://127.0.0.1:3000",
        "kafkaBootstrapServers": "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094",
        "schemaRegistryUrl": "http://127.0.0.1:8081",
        "kafkaConnectUrl": "http://127.0.0.1:8083",
    }


def test_port_offset_host_address_and_prefix_follow_everywhere():
    run = run_program({**KAFKA, "portOffset": "100", "hostAddress": "192.0.2.10",
                       "bindAddress": "0.0.0.0", "namePrefix": "alice-"})
    assert run.ports("kafka-2") == [("0.0.0.0", 9193, 9193)]
    assert run.env("kafka-2")["KAFKA_ADVERTISED_LISTENERS"].endswith("LISTENER_DOCKER_EXTERNAL://192.0.2.10:9193")
    # inside the network, names do not change
    assert run.env("kafka-2")["KAFKA_ADVERTISED_LISTENERS"].startswith("LISTENER_DOCKER_INTERNAL://kafka-2:19093")
    assert run.env("kpow")["BOOTSTRAP"] == BOOTSTRAP
    assert run.ports("kpow") == [("0.0.0.0", 3100, 3000)]
    assert run.container("schema")["name"] == "alice-schema_registry"
    assert run.container("kpow")["networksAdvanced"] == [{"name": "alice-factorhouse", "aliases": ["kpow"], "gwPriority": 0}]
    assert {v["name"] for v in run.of_type("docker:index/volume:Volume")} == {
        "alice-zookeeper-data", "alice-zookeeper-log", "alice-kafka-1-data", "alice-kafka-2-data", "alice-kafka-3-data"}
    assert run.outputs["kafkaBootstrapServers"] == "192.0.2.10:9192,192.0.2.10:9193,192.0.2.10:9194"
    assert run.outputs["kpowUrl"] == "http://192.0.2.10:3100"


def test_data_volumes_survive_and_are_optional(run):
    for volume in run.of_type("docker:index/volume:Volume"):
        assert volume.retain_on_delete, "pulumi destroy must not delete data"
    assert run.mounts("zookeeper")["/var/lib/zookeeper/data"]["volumeName"] == "zookeeper-data"
    no_data = run_program({**KAFKA, "persistData": "false"})
    assert no_data.of_type("docker:index/volume:Volume") == []
    assert "/var/lib/kafka/data" not in no_data.mounts("kafka-1")


def test_every_container_is_safe_to_replace_and_stop(run):
    for name, container in run.containers.items():
        assert container.delete_before_replace, name
        assert container["destroyGraceSeconds"] == 30, name  # docs/engine.md: 30 s to stop
        assert container["name"], name


def test_images_are_kept_and_shared(run):
    images = run.of_type("docker:index/remoteImage:RemoteImage")
    assert len(images) == len({i["name"] for i in images}) == 5
    assert all(i["keepLocally"] for i in images)


def test_image_override():
    run = run_program({**KAFKA, "images": json.dumps({"kafka": "registry.local/kafka:7.9"})})
    assert {run.image_of(f"kafka-{n}") for n in (1, 2, 3)} == {"registry.local/kafka:7.9"}


def test_an_edited_file_is_a_change_of_the_container(tmp_path, monkeypatch):
    # uploads are replace-on-change inputs: new content, a new container
    import shutil
    import stacks.service as service
    before = run_program(KAFKA).files("schema")
    copy = tmp_path / "resources"
    shutil.copytree(RESOURCES, copy)
    (copy / "kpow/schema/schema_realm.properties").write_text("admin: changed,schema-admin\n")
    monkeypatch.setattr(service, "RESOURCES", copy)
    after = run_program(KAFKA).files("schema")
    assert after["/etc/schema/schema_realm.properties"] == "admin: changed,schema-admin\n"
    assert before["/etc/schema/schema_jaas.conf"] == after["/etc/schema/schema_jaas.conf"]


def test_the_same_config_gives_the_same_inputs():
    def inputs(run):  # registrations arrive in any order; what each one asks for must not change
        return {r.urn: (r.raw, sorted(r.dependencies)) for r in run.registrations}

    first, second = run_program(), run_program()
    assert len(first.registrations) > 10
    assert inputs(first) == inputs(second)


def test_a_missing_resource_file_stops_the_run_naming_it(tmp_path, monkeypatch):
    import shutil
    import stacks.service as service
    copy = tmp_path / "resources"
    shutil.copytree(RESOURCES, copy)
    shutil.rmtree(copy / "kpow/schema")
    monkeypatch.setattr(service, "RESOURCES", copy)
    with pytest.raises(service.MissingResource) as caught:
        run_program(KAFKA)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("resources/kpow/schema is missing (the file that /etc/schema is made from)")
    assert "git checkout -- resources/kpow/schema" in message
