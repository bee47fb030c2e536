"""Per-developer stacks: any subset of stacks, the lite profile, two developers on one
Docker host."""

import itertools
import json

import pytest

from harness import CONTAINER, IMAGE, VOLUME, NETWORK, COMMAND, run_program

SERVICES = {
    "kpow": {"zookeeper", "kafka-1", "kafka-2", "kafka-3", "schema", "connect", "kpow"},
    "flex": {"jobmanager", "taskmanager-1", "taskmanager-2", "taskmanager-3", "sql-gateway", "flex"},
    "analytics": {"spark-iceberg", "rest", "minio", "mc", "postgres"},
    "pinot": {"pinot-controller", "pinot-broker", "pinot-server"},
    "redis": {"redis"},
}
STACKS = list(SERVICES)
COMPONENTS = {"kpow": "Kafka", "flex": "Flink", "analytics": "Analytics", "pinot": "Pinot", "redis": "Redis"}


def expected_services(chosen) -> set[str]:
    services = set().union(*(SERVICES[s] for s in chosen))
    if "pinot" in chosen:
        services.add("zookeeper")  # its own when the Kafka stack is not there
    return services


@pytest.mark.parametrize("chosen", [c for n in (1, 2) for c in itertools.combinations(STACKS, n)],
                         ids=lambda c: "+".join(c))
def test_every_single_stack_and_pair_builds_with_only_its_services(chosen):
    run = run_program({"stacks": json.dumps(list(chosen))})
    assert set(run.containers) == expected_services(chosen)
    components = {r.type.rsplit(":", 1)[-1] for r in run.registrations if r.type.startswith("factorhouse:stacks:")}
    assert components == {COMPONENTS[s] for s in chosen}
    # nothing points at a stack that is not there
    made = set(run.containers) | {r.name for r in run.of_type(COMMAND)} | {r.name for r in run.of_type(IMAGE)} | {"network"}
    for container in run.containers.values():
        assert run.depends_on(container) <= made | {r.name for r in run.of_type(VOLUME)}
    if "flex" in chosen and "analytics" not in chosen:
        assert "AWS_ACCESS_KEY_ID" not in run.env("jobmanager")
    assert len(run.of_type(NETWORK)) == 1


def test_lite_runs_one_broker_and_replication_of_one_everywhere():
    run = run_program({"profile": "lite"})
    assert {n for n in run.containers if n.startswith("kafka-")} == {"kafka-1"}
    assert {n for n in run.containers if n.startswith("taskmanager-")} == {"taskmanager-1"}
    replication = {
        (name, key): value
        for name in run.containers for key, value in run.env(name).items()
        if "REPLICATION_FACTOR" in key or key.endswith("_MIN_ISR")
    }
    assert replication and set(replication.values()) == {"1"}
    assert {name for name, _ in replication} == {"kafka-1", "schema", "connect"}
    for name in ("schema", "connect"):
        assert run.env(name).get("SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS", run.env(name).get("CONNECT_BOOTSTRAP_SERVERS")) == "kafka-1:19092"
    assert run.env("kpow")["BOOTSTRAP"] == "kafka-1:19092"
    assert run.outputs["kafkaBootstrapServers"] == "127.0.0.1:9092"
    assert run.container("kpow")["memory"] == run.container("flex")["memory"] == 1024


def test_full_sets_replication_to_three():
    run = run_program()
    values = {v for n in ("kafka-1", "schema", "connect") for k, v in run.env(n).items() if "REPLICATION_FACTOR" in k}
    assert values == {"3"}


def names_and_ports(run):
    names = {(r.type, r["name"]) for r in run.registrations if r.type in (CONTAINER, VOLUME, NETWORK)}
    ports = {host for name in run.containers for _, host, _ in run.ports(name)}
    builds = {run.option(r, "--tag").split(":")[0] for r in run.of_type(COMMAND) if r.name.startswith("build-")}
    return names, ports, builds


def test_two_developers_share_no_name_and_no_port():
    alice = run_program({"namePrefix": "alice-", "portOffset": "0"}, stack="alice")
    bob = run_program({"namePrefix": "bob-", "portOffset": "20000", "sparkThriftPorts": "true"}, stack="bob")
    a_names, a_ports, a_builds = names_and_ports(alice)
    b_names, b_ports, b_builds = names_and_ports(bob)
    assert a_names and b_names and not (a_names & b_names)
    assert not (a_ports & b_ports)
    assert a_builds == {"alice-factorhouse/pyflink", "alice-factorhouse/flink", "alice-factorhouse/flink-connectors",
                        "alice-factorhouse/kafka-connectors"}
    assert b_builds == {"bob-" + b.split("-", 1)[1] for b in a_builds}
    # their downloads and generated files live apart too
    dests = [{r["create"].split("--dest ")[1].split()[0] for r in run.of_type(COMMAND) if r.name.startswith("download-")}
             for run in (alice, bob)]
    assert not (dests[0] & dests[1])
    # services still find each other by their plain names
    assert bob.container("kafka-1")["networksAdvanced"] == [{"name": "bob-factorhouse", "aliases": ["kafka-1"], "gwPriority": 0}]
    assert bob.env("kpow")["BOOTSTRAP"] == "kafka-1:19092,kafka-2:19093,kafka-3:19094"
    assert bob.env("kafka-3")["KAFKA_ADVERTISED_LISTENERS"].endswith("//127.0.0.1:29094")


def test_every_output_follows_the_offset():
    base, moved = run_program(), run_program({"portOffset": "1000"})
    for key, value in base.outputs.items():
        if isinstance(value, str) and "127.0.0.1:" in value:
            ports = [int(p.split(",")[0].split("/")[0]) for p in value.split("127.0.0.1:")[1:]]
            moved_ports = [int(p.split(",")[0].split("/")[0]) for p in moved.outputs[key].split("127.0.0.1:")[1:]]
            assert moved_ports == [p + 1000 for p in ports], key


def test_outputs_list_what_runs():
    run = run_program({"stacks": json.dumps(["analytics"])})
    assert run.outputs["stacks"] == ["analytics"]
    assert "kpowUrl" not in run.outputs and "jupyterUrl" in run.outputs
    assert run.outputs["summary"] == ("5 containers on network factorhouse (full profile, trial edition) - "
                                      "analytics: minio, mc, rest, spark-iceberg, postgres")
    lite = run_program({"stacks": json.dumps(["kpow", "pinot"]), "profile": "lite", "namePrefix": "a-"})
    assert lite.outputs["summary"] == (
        "8 containers on network a-factorhouse (lite profile, trial edition) - "
        "kpow: zookeeper, kafka-1, schema, connect, kpow; pinot: pinot-controller, pinot-broker, pinot-server")


def test_the_services_output_lists_every_service_that_runs_with_its_stack_name_and_addresses():
    run = run_program({"namePrefix": "a-", "portOffset": "100", "profile": "lite",
                       "stacks": json.dumps(["kpow", "analytics", "pinot"])})
    services = run.outputs["services"]
    assert set(services) == set(run.containers)  # every container, nothing else
    assert services["kafka-1"] == {"stack": "kpow", "workload": "a-kafka-1", "oneShot": False,
                                   "addresses": ["127.0.0.1:9192"]}
    assert services["zookeeper"]["stack"] == "kpow"  # shared: under the first stack that runs it
    assert services["minio"]["addresses"] == ["127.0.0.1:9100", "127.0.0.1:9101"]
    assert services["mc"] == {"stack": "analytics", "workload": "a-mc", "oneShot": True, "addresses": []}
    assert services["kpow"]["workload"] == "a-kpow-ee"
    for name, service in services.items():
        assert service["workload"] == run.container(name)["name"]
        assert service["addresses"] == [f"127.0.0.1:{host}" for _, host, _ in run.ports(name)]
    k8s = run_program({"engine": "kubernetes", "minioPassword": "minio-k8s", "postgresPassword": "pg-k8s",
                       "stacks": json.dumps(["analytics"])}).outputs["services"]
    assert k8s["minio"] == {"stack": "analytics", "workload": "minio", "oneShot": False,
                            "addresses": ["127.0.0.1:9000", "127.0.0.1:9001"]}
