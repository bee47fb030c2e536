"""The two choices of today's upstream, under mocks: Kafka in KRaft mode (`kafkaMode:
kraft`) and the plain Flink image (`pyflink: false`), alone and with every profile and
choice of stacks."""

import base64
import itertools
import json

import pytest

from harness import COMMAND, CONTAINER, NETWORK, PROJECT_DIR, VOLUME, run_program
from stacks.kafka import cluster_id

KRAFT = {"kafkaMode": "kraft"}
STACKS = ["kpow", "flex", "analytics", "pinot"]

# Upstream's kafka-1 of today (compose-kpow.yml at 9086051: its common KRaft settings
# and the node's own), with ${DOCKER_HOST_IP:-127.0.0.1} and ${KAFKA_CLUSTER_ID:-...}
# at their defaults.
UPSTREAM_KRAFT_NODE_1 = {
    "KAFKA_PROCESS_ROLES": "broker,controller",
    "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
    "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@kafka-1:19091,2@kafka-2:19091,3@kafka-3:19091",
    "CLUSTER_ID": "42RglGpZQwy9D5VzTVpCWA",
    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,LISTENER_DOCKER_INTERNAL:PLAINTEXT,"
                                            "LISTENER_DOCKER_EXTERNAL:PLAINTEXT,LISTENER_MINIKUBE:PLAINTEXT",
    "KAFKA_INTER_BROKER_LISTENER_NAME": "LISTENER_DOCKER_INTERNAL",
    "KAFKA_CONFLUENT_SUPPORT_METRICS_ENABLE": "false",
    "KAFKA_LOG4J_ROOT_LOGLEVEL": "INFO",
    "KAFKA_NUM_PARTITIONS": "3",
    "KAFKA_DEFAULT_REPLICATION_FACTOR": "3",
    "KAFKA_LOG_CLEANUP_POLICY": "delete",
    "KAFKA_LOG_RETENTION_BYTES": "524288000",
    "KAFKA_LOG_SEGMENT_BYTES": "67108864",
    "KAFKA_LOG_RETENTION_MS": "86400000",
    "KAFKA_GROUP_COORDINATOR_REBALANCE_PROTOCOLS": "classic,consumer,share",
    "KAFKA_SHARE_COORDINATOR_ENABLE": "true",
    "KAFKA_GROUP_SHARE_ENABLE": "true",
    "KAFKA_UNSTABLE_API_VERSIONS_ENABLE": "true",
    "KAFKA_BROKER_ID": "1",
    "KAFKA_LISTENERS": "CONTROLLER://kafka-1:19091,LISTENER_DOCKER_INTERNAL://kafka-1:19092,"
                       "LISTENER_DOCKER_EXTERNAL://0.0.0.0:9092,LISTENER_MINIKUBE://0.0.0.0:29092",
    "KAFKA_ADVERTISED_LISTENERS": "LISTENER_DOCKER_INTERNAL://kafka-1:19092,LISTENER_DOCKER_EXTERNAL://127.0.0.1:9092,"
                                  "LISTENER_MINIKUBE://host.minikube.internal:29092",
}
# What we do differently (docs/services.md): a cluster id per stack, no minikube listener
# (the Kubernetes engine runs the platform in the cluster instead), and the replication
# of the internal topics set as in ZooKeeper mode
WITHOUT_MINIKUBE = {
    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,LISTENER_DOCKER_INTERNAL:PLAINTEXT,"
                                            "LISTENER_DOCKER_EXTERNAL:PLAINTEXT",
    "KAFKA_LISTENERS": "CONTROLLER://kafka-1:19091,LISTENER_DOCKER_INTERNAL://kafka-1:19092,"
                       "LISTENER_DOCKER_EXTERNAL://0.0.0.0:9092",
    "KAFKA_ADVERTISED_LISTENERS": "LISTENER_DOCKER_INTERNAL://kafka-1:19092,LISTENER_DOCKER_EXTERNAL://127.0.0.1:9092",
}
REPLICATION = {
    "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "3",
    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "3",
    "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "2",
    "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "3",
    "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "2",
}


@pytest.fixture(scope="module")
def kraft():
    return run_program({**KRAFT, "stacks": json.dumps(["kpow"])})


def test_a_kraft_node_is_upstreams_with_our_documented_differences(kraft):
    expected = {**UPSTREAM_KRAFT_NODE_1, **WITHOUT_MINIKUBE, **REPLICATION,
                "CLUSTER_ID": cluster_id("factorhouse-local", "dev")}
    assert kraft.env("kafka-1") == expected


@pytest.mark.parametrize("n", [1, 2, 3])
def test_every_node_has_its_own_listeners_and_the_same_quorum(kraft, n):
    env = kraft.env(f"kafka-{n}")
    internal, external = 19091 + n, 9091 + n
    assert env["KAFKA_BROKER_ID"] == str(n)
    assert env["KAFKA_LISTENERS"] == (f"CONTROLLER://kafka-{n}:19091,LISTENER_DOCKER_INTERNAL://kafka-{n}:{internal},"
                                      f"LISTENER_DOCKER_EXTERNAL://0.0.0.0:{external}")
    assert env["KAFKA_ADVERTISED_LISTENERS"] == (f"LISTENER_DOCKER_INTERNAL://kafka-{n}:{internal},"
                                                 f"LISTENER_DOCKER_EXTERNAL://127.0.0.1:{external}")
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka-1:19091,2@kafka-2:19091,3@kafka-3:19091"
    assert "KAFKA_ZOOKEEPER_CONNECT" not in env
    assert kraft.image_of(f"kafka-{n}") == "confluentinc/cp-kafka:8.1.1"
    assert kraft.ports(f"kafka-{n}") == [("127.0.0.1", external, external)]
    # data of its own mode only
    assert kraft.mounts(f"kafka-{n}") == {"/var/lib/kafka/data": {"volumeName": f"kafka-{n}-kraft-data",
                                                                  "containerPath": "/var/lib/kafka/data"}}


def test_no_zookeeper_runs_for_kafka_and_clients_reach_the_nodes_as_before(kraft):
    assert "zookeeper" not in kraft.containers
    assert not [v for v in kraft.of_type(VOLUME) if v["name"].startswith("zookeeper")]
    bootstrap = "kafka-1:19092,kafka-2:19093,kafka-3:19094"
    assert kraft.env("schema")["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"] == bootstrap
    assert kraft.env("connect")["CONNECT_BOOTSTRAP_SERVERS"] == bootstrap
    assert kraft.env("kpow")["BOOTSTRAP"] == bootstrap
    assert kraft.image_of("schema") == "confluentinc/cp-schema-registry:8.1.1"
    assert kraft.image_chain("connect")[-1] == "confluentinc/cp-kafka-connect:8.1.1"
    for service in ("schema", "connect"):
        assert kraft.depends_on(kraft.container(service)) >= {"kafka-1", "kafka-2", "kafka-3"}
    assert kraft.outputs["kafkaBootstrapServers"] == "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094"


def test_pinot_gets_its_own_zookeeper_in_kraft_mode():
    run = run_program({**KRAFT, "stacks": json.dumps(["kpow", "pinot"])})
    assert "zookeeper" in run.containers
    assert run.image_of("zookeeper") == "confluentinc/cp-zookeeper:7.8.0"
    assert run.container("zookeeper").parent.endswith("pulumi:pulumi:Stack::factorhouse-local-dev")
    assert "zookeeper" in run.depends_on(run.container("pinot-controller"))
    for n in (1, 2, 3):
        assert "zookeeper" not in run.depends_on(run.container(f"kafka-{n}"))
        assert "KAFKA_ZOOKEEPER_CONNECT" not in run.env(f"kafka-{n}")


def test_lite_is_one_node_voting_for_itself():
    run = run_program({**KRAFT, "profile": "lite", "stacks": json.dumps(["kpow"])})
    assert {n for n in run.containers if n.startswith("kafka-")} == {"kafka-1"}
    env = run.env("kafka-1")
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka-1:19091"
    replication = {k: v for k, v in env.items() if "REPLICATION_FACTOR" in k or k.endswith("MIN_ISR")}
    assert len(replication) == 6 and set(replication.values()) == {"1"}
    assert run.env("kpow")["BOOTSTRAP"] == "kafka-1:19092"


def test_the_cluster_id_is_fixed_per_stack_and_in_the_form_kafka_takes():
    ids = {stack: run_program({**KRAFT, "stacks": json.dumps(["kpow"])}, stack=stack).env("kafka-2")["CLUSTER_ID"]
           for stack in ("dev", "alice")}
    again = run_program({**KRAFT, "stacks": json.dumps(["kpow"])}).env("kafka-3")["CLUSTER_ID"]
    assert ids["dev"] == again != ids["alice"]
    import hashlib
    # stack names whose digest would give an id starting with '-' or '_' without the mask
    risky = [s for s in (f"stack-{n}" for n in range(200))
             if hashlib.sha256(f"factorhouse-local/{s}".encode()).digest()[0] >> 2 >= 62]
    assert risky
    for stack in ("dev", "alice", "bob", "x" * 40, *risky):
        value = cluster_id("factorhouse-local", stack)
        assert len(value) == 22 and value[0] not in "-_"
        assert len(base64.urlsafe_b64decode(value + "==")) == 16


def test_the_two_modes_never_share_a_data_volume():
    volumes = {mode: {v["name"] for v in run_program({"kafkaMode": mode, "stacks": json.dumps(["kpow"])})
                      .of_type(VOLUME)} for mode in ("zookeeper", "kraft")}
    assert volumes["zookeeper"] == {"zookeeper-data", "zookeeper-log", "kafka-1-data", "kafka-2-data", "kafka-3-data"}
    assert volumes["kraft"] == {"kafka-1-kraft-data", "kafka-2-kraft-data", "kafka-3-kraft-data"}


def test_an_image_override_wins_over_the_modes_default():
    run = run_program({**KRAFT, "stacks": json.dumps(["kpow"]), "images": json.dumps({"kafka": "my/kafka:8.2"})})
    assert run.image_of("kafka-1") == "my/kafka:8.2"
    assert run.image_of("schema") == "confluentinc/cp-schema-registry:8.1.1"


def test_a_bad_mode_is_refused_naming_the_key():
    from settings import SettingsError
    with pytest.raises(SettingsError) as caught:
        run_program({"kafkaMode": "kraftt"})
    assert str(caught.value) == "invalid config kafkaMode: 'kraftt' is not allowed; use one of zookeeper, kraft"


# -- the plain Flink image ----------------------------------------------------------------

FLINK_CONTAINERS = ("jobmanager", "taskmanager-1", "taskmanager-2", "taskmanager-3", "sql-gateway")


@pytest.mark.parametrize("pyflink, chain", [
    ("true", ["build-flink-connectors", "build-flink", "build-pyflink", "flink:1.20.1"]),
    ("false", ["build-flink-connectors", "build-flink", "flink:1.20.1"]),
])
def test_every_flink_container_runs_the_flink_image_on_the_chosen_base(pyflink, chain):
    run = run_program({"pyflink": pyflink, "stacks": json.dumps(["flex"])})
    build = run.one(COMMAND, "build-flink")
    # one Dockerfile for the Flink image whatever its base: the S3 plugins, jars, curl
    assert run.option(build, "--context") == str(PROJECT_DIR / "resources/flex/flink")
    assert run.build_args(build)["FLINK_VERSION"] == "1.20.1"
    assert "download-pyflink-jars" in run.depends_on(build)  # the same jars either way
    assert ("build-pyflink" in {r.name for r in run.of_type(COMMAND)}) == (pyflink == "true")
    for name in FLINK_CONTAINERS:
        assert run.image_chain(name) == chain, name
    assert run.container("jobmanager")["healthcheck"]["tests"] == ["CMD", "curl", "-f", "http://localhost:8081/config"]


def test_the_plain_image_is_tagged_apart_and_keeps_the_configuration():
    runs = {v: run_program({"pyflink": v, "stacks": json.dumps(["flex"])}) for v in ("true", "false")}
    tags = {v: r.option(r.one(COMMAND, "build-flink"), "--tag") for v, r in runs.items()}
    assert tags["true"] != tags["false"] and all(t.startswith("factorhouse/flink:") for t in tags.values())
    assert runs["true"].files("jobmanager") == runs["false"].files("jobmanager")
    assert runs["true"].env("jobmanager") == runs["false"].env("jobmanager")


def test_only_the_python_layer_has_python():
    flink = (PROJECT_DIR / "resources/flex/flink/Dockerfile").read_text()
    instructions = "\n".join(line for line in flink.splitlines() if not line.lstrip().startswith("#"))
    assert "pip" not in instructions and "python" not in instructions
    assert "apache-flink" in (PROJECT_DIR / "resources/flex/pyflink/Dockerfile").read_text()


# -- every combination ----------------------------------------------------------------------

SELECTIONS = [c for n in range(1, 5) for c in itertools.combinations(STACKS, n)]
COMBINATIONS = [(mode, pyflink, profile, chosen) for mode in ("zookeeper", "kraft") for pyflink in ("true", "false")
                for profile in ("full", "lite") for chosen in SELECTIONS]


@pytest.mark.parametrize("mode, pyflink, profile, chosen", COMBINATIONS,
                         ids=["-".join([m, "py" if p == "true" else "plain", f, "+".join(c)]) for m, p, f, c in COMBINATIONS])
def test_every_combination_evaluates_with_unique_names_and_ports(mode, pyflink, profile, chosen):
    run = run_program({"kafkaMode": mode, "pyflink": pyflink, "profile": profile, "stacks": json.dumps(list(chosen))})
    named = [(r.type, r["name"]) for r in run.registrations if r.type in (CONTAINER, VOLUME, NETWORK)]
    assert len(named) == len(set(named))
    ports = [host for name in run.containers for _, host, _ in run.ports(name)]
    assert len(ports) == len(set(ports))
    urns = [r.urn for r in run.registrations]
    assert len(urns) == len(set(urns))
    wants_zookeeper = "pinot" in chosen or ("kpow" in chosen and mode == "zookeeper")
    assert ("zookeeper" in run.containers) == wants_zookeeper
