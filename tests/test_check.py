"""`make check` (commands/check.py, checks/, commands/stack_outputs.py): every
service's question against real servers (Kafka, ZooKeeper, Postgres, Redis, Prometheus,
Alertmanager: tests/realservers.py) and local servers that answer as the real ones do
(tests/fakeservices.py), each passing and failing; the rows, the exit status, --json, and
the outputs the questions read."""

from __future__ import annotations

import copy
import json
import re
import subprocess

import psycopg
import pytest
import yaml

import engine
import fakeservices as fake
import realservers
from harness import PROJECT_DIR, run_program, stand_in
from logins import can_check, realm, verifies
from checks import plumbing
from checks.analytics import spark
from checks.metastore import spark_history
from commands import check, stack_outputs
from stacks.kafka import CONNECTOR_CLASSES
from test_kubernetes import K8S
from together import Together

EVERY_STACK = {"stacks": json.dumps(["kpow", "flex", "analytics", "pinot", "telemetry", "lineage", "redis",
                                     "clickhouse", "starrocks"])}
HIVE = {**EVERY_STACK, "catalog": "hive"}


_OUTPUTS: dict[str, dict] = {}


def program_outputs(config: dict | None = None) -> dict:
    """The outputs the program exports (as `pulumi stack output --json --show-secrets`
    prints them), under the mocks; a copy of each configuration's, made once."""
    key = json.dumps(config or {}, sort_keys=True)
    if key not in _OUTPUTS:
        _OUTPUTS[key] = run_program(config or {}).outputs
    return copy.deepcopy(_OUTPUTS[key])


def point(outputs: dict, service: str, address: str, *url_keys: str) -> dict:
    """The outputs with `service` published at `address` (and its URL outputs there)."""
    outputs["services"][service]["addresses"] = [address] + outputs["services"][service]["addresses"][1:]
    for key in url_keys:
        outputs[key] = f"http://{address}"
    return outputs


def only(outputs: dict, *services: str) -> dict:
    outputs["services"] = {n: s for n, s in outputs["services"].items() if n in services}
    return outputs


def rows(outputs: dict, stack: str = "dev") -> dict[str, check.Row]:
    return {r.service: r for r in check.ask_all(outputs, stack)}


# -- the outputs the questions read --------------------------------------------------

def test_the_program_exports_what_the_questions_need():
    out = run_program()
    assert out.outputs["kafkaBrokerIds"] == {"kafka-1": 1, "kafka-2": 2, "kafka-3": 3}
    for name, broker_id in out.outputs["kafkaBrokerIds"].items():
        assert out.env(name)["KAFKA_BROKER_ID"] == str(broker_id)
    assert out.outputs["kafkaConnectPlugins"] == sorted(c for cs in CONNECTOR_CLASSES.values() for c in cs)
    assert out.outputs["minioBuckets"] == out.env("mc")["BUCKETS"].split()
    assert out.outputs["minioUser"] == out.env("minio")["MINIO_ROOT_USER"] == "admin"
    assert out.outputs["minioPassword"] == out.env("minio")["MINIO_ROOT_PASSWORD"]
    assert out.outputs["flinkTaskSlots"] == 5  # resources/flex/conf/flink-conf.yaml
    assert out.outputs["edition"] == "trial" and out.outputs["kpowLogin"] is True and out.outputs["flexLogin"] is False
    community = program_outputs({"edition": "community"})
    assert community["kpowLogin"] is False and community["flexLogin"] is False and community["edition"] == "community"


def test_every_connector_download_names_its_classes():
    downloads = yaml.safe_load((PROJECT_DIR / "resources" / "downloads.yaml").read_text())["kafka-connectors"]
    assert set(CONNECTOR_CLASSES) == {d["name"] for d in downloads}


def test_the_schema_registry_login_is_the_realms_and_secret():
    out = run_program()
    users = realm(PROJECT_DIR / "resources" / "kpow" / "schema" / "schema_realm.properties")
    user, password = out.outputs["schemaRegistryUser"], out.outputs["schemaRegistryPassword"]
    credential, roles = users[user]
    assert "schema-admin" in roles
    if can_check(credential):
        assert verifies(password, credential)


def test_passwords_are_secret_outputs():
    import pulumi
    from pulumi.runtime.settings import get_root_resource
    run_program(HIVE)
    exported = get_root_resource().outputs
    for key in ("minioPassword", "schemaRegistryPassword", "postgresDsn", "marquezDbDsn", "redisPassword",
                "clickhousePassword", "grafanaPassword"):
        assert pulumi.runtime.sync_await._sync_await(exported[key].is_secret()), key
    for key in ("minioUser", "schemaRegistryUser", "kafkaBrokerIds", "minioBuckets", "grafanaUser", "clickhouseUser",
                "prometheusTargets", "starrocksBackends", "catalog"):
        assert not pulumi.runtime.sync_await._sync_await(pulumi.Output.from_input(exported[key]).is_secret()), key


def test_every_service_the_program_makes_has_a_question():
    configs = [{}, {"kafkaMode": "kraft"}, {"edition": "community", "profile": "lite"}, EVERY_STACK, HIVE,
               {"engine": "kubernetes", "minioPassword": "minio-k8s-pw", "postgresPassword": "pg-k8s-pw"},
               {**K8S, **HIVE}]
    for config in configs:
        outputs = program_outputs(config)
        assert not {n for n in outputs["services"] if plumbing.question_for(n, outputs) is None}, config
    names = {name for config in configs for name in program_outputs(config)["services"]}
    assert {"prometheus", "marquez-db", "starrocks-register", "metastore-db", "hive-metastore", "cloudbeaver"} <= names
    assert "taskmanager-3" in names and plumbing.question_for("taskmanager-3").key == "taskmanager"
    # Spark is asked as it runs: with catalog hive, its history server (no Jupyter, no master)
    assert plumbing.question_for("spark-iceberg", program_outputs()).ask is spark
    assert plumbing.question_for("spark-iceberg", program_outputs(HIVE)).ask is spark_history


def test_the_program_exports_what_the_later_stacks_questions_need():
    run = run_program({**HIVE, "marquezPassword": "mq p@ss/w%rd", "redisPassword": "rd-pw",
                       "clickhousePassword": "ch-pw", "grafanaPassword": "gf-pw"},
                      secret_keys=("marquezPassword", "redisPassword", "clickhousePassword", "grafanaPassword"))
    out = run.outputs
    # Prometheus's targets: those of the configuration the program gives it
    config = yaml.safe_load(run.files("prometheus")["/etc/prometheus/prometheus.yml"])
    assert out["prometheusTargets"] == {j["job_name"]: j["static_configs"][0]["targets"]
                                        for j in config["scrape_configs"]}
    assert out["prometheusTargets"]["flink"] == ["jobmanager:9249", "taskmanager-1:9249", "taskmanager-2:9249",
                                                 "taskmanager-3:9249"]
    grafana = run.env("grafana")
    assert (out["grafanaUser"], out["grafanaPassword"]) == \
        (grafana["GF_SECURITY_ADMIN_USER"], grafana["GF_SECURITY_ADMIN_PASSWORD"]) == ("admin", "gf-pw")
    # Marquez's Postgres, at its published port; any password reads back as itself
    marquez, database = psycopg.conninfo.conninfo_to_dict(out["marquezDbDsn"]), run.env("marquez-db")
    assert marquez == {"user": database["POSTGRES_USER"], "password": database["POSTGRES_PASSWORD"],
                       "dbname": database["POSTGRES_DB"], "host": "127.0.0.1", "port": "5433"}
    assert database["POSTGRES_PASSWORD"] == "mq p@ss/w%rd" and out["services"]["marquez-db"]["addresses"] == \
        ["127.0.0.1:5433"]
    assert psycopg.conninfo.conninfo_to_dict(out["postgresDsn"])["password"] == run.env("postgres")["POSTGRES_PASSWORD"]
    assert out["redisPassword"] == run.env("redis")["REDIS_PASSWORD"] == "rd-pw"
    assert (out["clickhouseUser"], out["clickhousePassword"]) == ("default", run.env("ch-server")["CLICKHOUSE_PASSWORD"])
    # StarRocks: the user its check logs in as, the backend the registration adds
    assert f"-u {out['starrocksUser']} " in run.container("starrocks-fe")["healthcheck"]["tests"][1]
    assert out["starrocksBackends"] == [run.env("starrocks-register")["BACKEND"]]
    # the catalog, and the database the metastore's one-shot makes
    sql = (PROJECT_DIR / "resources/analytics/hive/metastore-database.sql").read_text()
    assert out["catalog"] == "hive" and f"CREATE DATABASE {out['metastoreDatabase']}'" in sql
    assert out["hiveMetastoreUri"] == "thrift://127.0.0.1:9083" and out["sparkHistoryUrl"] == "http://127.0.0.1:18080"
    assert program_outputs()["catalog"] == "rest" and "metastoreDatabase" not in program_outputs()


# -- Kafka: a real KRaft node ----------------------------------------------------------

@pytest.fixture(scope="module")
def jars():
    engine.need(realservers.java_problem(), "a Java runtime for Kafka and ZooKeeper")
    try:
        return realservers.kafka_jars()
    except Exception as error:  # no network and nothing cached
        engine.need(f"{type(error).__name__}: {error}", "Kafka's jars from Maven Central")


def running(server, what: str, *start):
    """A real server for a module's tests, stopped after them; they skip (or fail, under
    FHL_REQUIRE_DOCKER=1) when it cannot run here or does not start."""
    try:
        engine.need(server.problem(), what)
        engine.need(server.start(*start), what)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def kafka(jars):
    yield from running(realservers.KafkaNode(), "a Kafka broker", jars)


def kafka_outputs(bootstrap: str, published: str, engine_kind: str = "docker") -> dict:
    outputs = only(program_outputs({"stacks": json.dumps(["kpow"]), "profile": "lite"}), "kafka-1")
    outputs["kafkaBootstrapServers"] = bootstrap
    outputs["engine"]["kind"] = engine_kind
    return point(outputs, "kafka-1", published)


def test_kafka_passes_when_the_broker_advertises_where_it_answers(kafka):
    row = rows(kafka_outputs(kafka.good, kafka.good))["kafka-1"]
    assert row.result == check.PASS, row
    assert kafka.good in row.found and "came back" in row.found
    assert kafka.good in row.asked
    # nothing left behind: the topic made for the check, no consumer group
    assert not [t for t in kafka.topics() if t.startswith(plumbing.PREFIX)]
    assert not [g for g in kafka.groups() if g.group_id.startswith(plumbing.PREFIX)]


def test_kafka_fails_naming_the_broker_and_the_address_it_advertises_where_nothing_answers(kafka):
    row = rows(kafka_outputs(kafka.wrong, kafka.wrong))["kafka-1"]
    assert row.result == check.FAIL
    assert row.cause == (f"kafka-1 advertises {kafka.unserved}, not {kafka.wrong} where the stack publishes it; "
                         "nothing answers there (connection refused)")
    assert "hostAddress" in row.wayOut and "make up" in row.wayOut


def test_kafka_fails_when_the_advertised_address_is_the_published_one_and_nothing_answers(kafka):
    # as a port forward that died on Kubernetes: the bootstrap answers, the broker's address does not
    row = rows(kafka_outputs(kafka.wrong, kafka.unserved, "kubernetes"))["kafka-1"]
    assert row.result == check.FAIL
    assert row.cause == f"kafka-1 advertises {kafka.unserved}, nothing answers there (connection refused)"
    assert row.wayOut.startswith("on Kubernetes the address is a port forward: run `make forward STACK=dev`")


def test_kafka_fails_when_a_broker_is_missing_from_the_metadata(kafka):
    outputs = kafka_outputs(kafka.good, kafka.good)
    outputs["kafkaBrokerIds"]["kafka-2"] = 2
    outputs["services"]["kafka-2"] = {**outputs["services"]["kafka-1"], "workload": "kafka-2",
                                      "addresses": ["127.0.0.1:1"]}
    answers = rows(outputs)
    assert answers["kafka-1"].result == check.PASS, answers["kafka-1"]
    assert answers["kafka-2"].cause == "broker 2 (kafka-2) is not in the cluster's metadata (it lists 1)"
    assert answers["kafka-2"].wayOut == "its log: `docker logs kafka-2`"


def test_kafka_fails_when_nothing_answers_at_the_bootstrap_servers(kafka):
    row = rows(kafka_outputs(kafka.unserved, kafka.unserved))["kafka-1"]
    assert row.result == check.FAIL
    assert row.cause == f"nothing answers at the bootstrap servers ({kafka.unserved}: connection refused)"
    assert "docker ps -a --filter name=kafka-1" in row.wayOut


# -- ZooKeeper and Postgres: real servers ------------------------------------------------

@pytest.fixture(scope="module")
def zookeeper(jars):
    yield from running(realservers.ZooKeeperNode(), "a ZooKeeper server", jars)


def zookeeper_outputs(address: str) -> dict:
    return point(only(program_outputs({"stacks": json.dumps(["pinot"])}), "zookeeper"), "zookeeper", address)


def test_zookeeper_passes_with_a_session_and_fails_where_nothing_answers(zookeeper):
    row = rows(zookeeper_outputs(zookeeper.address))["zookeeper"]
    assert row.result == check.PASS and "zookeeper" in row.found, row
    dead = rows(zookeeper_outputs(f"127.0.0.1:{realservers.free_port()}"))["zookeeper"]
    assert dead.result == check.FAIL and dead.cause.endswith("(connection refused)")


@pytest.fixture(scope="module")
def postgres_logical():
    yield from running(realservers.PostgresCluster("logical"), "Postgres from Debian's packages")


@pytest.fixture(scope="module")
def postgres_replica():
    yield from running(realservers.PostgresCluster("replica"), "Postgres from Debian's packages")


def postgres_outputs(dsn: str) -> dict:
    outputs = only(program_outputs({"stacks": json.dumps(["analytics"])}), "postgres")
    outputs["postgresDsn"] = dsn
    return point(outputs, "postgres", dsn.split("@")[1].split("/")[0])


def test_postgres_passes_with_the_platforms_login_and_logical_wal(postgres_logical):
    row = rows(postgres_outputs(postgres_logical.dsn))["postgres"]
    assert row.result == check.PASS, row
    assert row.found == "db_user logged in; wal_level is logical"


def test_postgres_fails_saying_wal_level_is_not_logical(postgres_replica):
    row = rows(postgres_outputs(postgres_replica.dsn))["postgres"]
    assert row.result == check.FAIL
    assert row.cause.startswith("wal_level is replica, not logical")
    assert "-c wal_level=logical" in row.wayOut


def test_postgres_fails_on_a_wrong_password_and_where_nothing_answers(postgres_logical):
    wrong = rows(postgres_outputs(postgres_logical.dsn.replace(postgres_logical.password, "not-it")))["postgres"]
    assert wrong.result == check.FAIL and "refuses db_user's login (password authentication failed)" in wrong.cause
    assert "ALTER USER db_user" in wrong.wayOut
    gone = postgres_logical.dsn.replace(str(postgres_logical.port), str(realservers.free_port()))
    dead = rows(postgres_outputs(gone))["postgres"]
    assert dead.result == check.FAIL and dead.cause.startswith("nothing answers at 127.0.0.1:")


# -- HTTP services: local servers that answer as the real ones -----------------------

@pytest.fixture
def servers():
    made: list[fake.FakeService] = []

    def make(server: fake.FakeService) -> fake.FakeService:
        made.append(server)
        return server
    yield make
    for server in made:
        server.close()


def ask_one(outputs: dict, name: str) -> check.Row:
    return rows(only(outputs, name))[name]


def test_schema_registry_registers_reads_back_and_deletes_and_wants_a_login(servers):
    registry = servers(fake.SchemaRegistry())
    row = ask_one(point(program_outputs(), "schema", registry.address, "schemaRegistryUrl"), "schema")
    assert row.result == check.PASS, row
    assert registry.subjects == {}  # hard-deleted: nothing left behind
    assert any(m == "POST" for m, _ in registry.requests)
    assert any(m == "DELETE" and p.endswith("?permanent=true") for m, p in registry.requests)
    for variant, cause in (("open", "not 401: the registry's basic auth is off"),
                           ("other-realm", "the registry refuses admin (401)")):
        broken = servers(fake.SchemaRegistry(variant))
        row = ask_one(point(program_outputs(), "schema", broken.address, "schemaRegistryUrl"), "schema")
        assert row.result == check.FAIL and cause in row.cause, row
        assert broken.subjects == {}


def test_connect_lists_every_downloaded_connector(servers):
    expected = program_outputs()["kafkaConnectPlugins"]
    good = servers(fake.Connect(expected))
    row = ask_one(point(program_outputs(), "connect", good.address, "kafkaConnectUrl"), "connect")
    assert row.result == check.PASS and row.found == "all 4 downloaded connectors among 7 plugins", row
    short = servers(fake.Connect([c for c in expected if "Iceberg" not in c]))
    row = ask_one(point(program_outputs(), "connect", short.address, "kafkaConnectUrl"), "connect")
    assert row.result == check.FAIL
    assert row.cause == "Connect lacks io.tabular.iceberg.connect.IcebergSinkConnector (6 plugins listed)"


@pytest.mark.parametrize("name,key", [("kpow", "kpowUrl"), ("flex", "flexUrl")])
def test_the_uis_answer_and_ask_for_a_login_where_the_edition_has_one(servers, name, key):
    login, open_ui, broken = (servers(fake.FactorHouseUi(v)) for v in ("login", "open", "broken"))
    outputs = program_outputs()
    outputs[f"{name}Login"] = True
    assert ask_one(point(copy.deepcopy(outputs), name, login.address, key), name).found == \
        "answers 200, asks for a login"
    row = ask_one(point(copy.deepcopy(outputs), name, open_ui.address, key), name)
    assert row.result == check.FAIL and "without asking for a login" in row.cause
    outputs[f"{name}Login"] = False
    assert ask_one(point(copy.deepcopy(outputs), name, open_ui.address, key), name).found == "answers 200, no login"
    row = ask_one(point(copy.deepcopy(outputs), name, broken.address, key), name)
    assert row.result == check.FAIL and "answered 502" in row.cause


def flink_outputs(jobmanager: fake.FakeService, lite: bool = False) -> dict:
    outputs = only(program_outputs({"profile": "lite"} if lite else {}), "jobmanager", "taskmanager-1",
                   "taskmanager-2", "taskmanager-3")
    return point(outputs, "jobmanager", jobmanager.address, "flinkUiUrl")


def test_flink_lists_every_taskmanager_with_its_slots(servers):
    answers = rows(flink_outputs(servers(fake.JobManager([5, 5, 5]))))
    assert {r.result for r in answers.values()} == {check.PASS}
    assert answers["taskmanager-2"].found == "3 taskmanagers with 5 slots each (15 free)"
    missing = rows(flink_outputs(servers(fake.JobManager([5, 5]))))
    assert missing["jobmanager"].cause == "the jobmanager lists 2 taskmanagers; the stack runs 3"
    assert missing["taskmanager-3"].result == check.FAIL
    slots = rows(flink_outputs(servers(fake.JobManager([1])), lite=True))["jobmanager"]
    assert slots.result == check.FAIL and "offers 1 slots, not the 5 its configuration sets" in slots.cause


def test_the_sql_gateway_runs_select_1_and_closes_its_session(servers):
    gateway = servers(fake.SqlGateway())
    row = ask_one(point(program_outputs(), "sql-gateway", gateway.address, "sqlGatewayUrl"), "sql-gateway")
    assert row.result == check.PASS and row.found == "SELECT 1 returned 1; session closed", row
    assert [s["closed"] for s in gateway.sessions.values()] == [True]
    failing = servers(fake.SqlGateway("error"))
    row = ask_one(point(program_outputs(), "sql-gateway", failing.address, "sqlGatewayUrl"), "sql-gateway")
    assert row.result == check.FAIL
    assert "NoResourceAvailableException: Could not acquire the minimum required resources" in row.cause
    assert [s["closed"] for s in failing.sessions.values()] == [True]
    empty = servers(fake.SqlGateway("empty"))
    row = ask_one(point(program_outputs(), "sql-gateway", empty.address, "sqlGatewayUrl"), "sql-gateway")
    assert row.result == check.FAIL and row.cause == "SELECT 1 returned [] instead of [1]"


def test_the_iceberg_catalog_answers_its_config(servers):
    good, broken = servers(fake.IcebergRest()), servers(fake.IcebergRest("broken"))
    row = ask_one(point(program_outputs(), "rest", good.address, "icebergRestUrl"), "rest")
    assert row.result == check.PASS and "warehouse" in row.found, row
    row = ask_one(point(program_outputs(), "rest", broken.address, "icebergRestUrl"), "rest")
    assert row.result == check.FAIL and row.cause.endswith("answered 500 (Unable to load catalog)")


def test_pinot_controller_and_broker_are_healthy_and_the_server_registered(servers):
    def pinot(controller, broker) -> dict[str, check.Row]:
        outputs = only(program_outputs(), "pinot-controller", "pinot-broker", "pinot-server")
        point(outputs, "pinot-controller", controller.address, "pinotControllerUrl")
        return rows(point(outputs, "pinot-broker", broker.address, "pinotBrokerUrl"))
    good = pinot(servers(fake.PinotController()), servers(fake.PinotBroker()))
    assert {r.result for r in good.values()} == {check.PASS}, good
    assert good["pinot-server"].found == "Server_172.18.0.9_8098 registered, enabled"
    bad = pinot(servers(fake.PinotController(healthy=False, servers=0)), servers(fake.PinotBroker(healthy=False)))
    assert {r.result for r in bad.values()} == {check.FAIL}
    assert "answered 503" in bad["pinot-broker"].cause
    assert bad["pinot-server"].cause.startswith("the controller lists no server among 2 instances")
    disabled = pinot(servers(fake.PinotController(enabled=False)), servers(fake.PinotBroker(says="STARTING")))
    assert disabled["pinot-server"].cause == "Server_172.18.0.9_8098 is registered but not enabled"
    assert disabled["pinot-broker"].cause.endswith("/health answered 'STARTING', not OK")


def test_spark_jupyter_and_the_master_answer(servers):
    def spark(workers: int) -> check.Row:
        outputs = program_outputs()
        outputs["jupyterUrl"] = servers(fake.Jupyter()).url
        outputs["sparkUiUrl"] = servers(fake.SparkMaster(workers)).url
        return ask_one(outputs, "spark-iceberg")
    assert spark(1).found == "Jupyter 6.5.4; Spark master alive, 1 worker(s)"
    assert spark(0).cause == "the Spark master is ALIVE with 0 live workers"


def minio_rows(server: fake.MinIO, password: str = "password") -> dict[str, check.Row]:
    outputs = only(program_outputs(), "minio", "mc")
    outputs["minioPassword"] = password
    return rows(point(outputs, "minio", server.address, "minioApiUrl"))


def test_minio_answers_the_platforms_credentials_and_the_buckets_exist(servers):
    good = minio_rows(servers(fake.MinIO("admin", "password", ["warehouse", "factorhouse"])))
    assert {r.result for r in good.values()} == {check.PASS}, good
    assert good["mc"].found == "buckets warehouse, factorhouse exist"
    missing = minio_rows(servers(fake.MinIO("admin", "password", ["warehouse"])))
    assert missing["minio"].result == check.PASS and missing["mc"].cause == "bucket factorhouse does not exist"
    wrong = minio_rows(servers(fake.MinIO("admin", "password", ["warehouse", "factorhouse"])), "not-the-password")
    assert wrong["minio"].cause == "MinIO refuses the platform's credentials (admin): SignatureDoesNotMatch"
    assert "re-creates it" in wrong["minio"].wayOut


def test_an_http_service_that_does_not_answer_says_how_to_reach_it():
    outputs = point(program_outputs(), "connect", f"127.0.0.1:{realservers.free_port()}", "kafkaConnectUrl")
    row = ask_one(copy.deepcopy(outputs), "connect")
    assert row.cause.startswith("nothing answers at 127.0.0.1:") and row.cause.endswith("(connection refused)")
    assert row.wayOut.startswith("is it running? `docker ps -a --filter name=connect`")
    outputs["engine"] = {"kind": "kubernetes", "id": "x", "address": "kind-team"}
    outputs["namespace"] = "factorhouse-dev"
    row = ask_one(outputs, "connect")
    assert row.wayOut == ("on Kubernetes the address is a port forward: run `make forward STACK=dev` and keep it "
                          "running; its log: `kubectl --context kind-team --namespace factorhouse-dev logs "
                          "deployment/connect`")
    # the way out names the service that does not answer: the jobmanager, for a taskmanager's row
    dead = only(program_outputs(), "jobmanager", "taskmanager-2")
    point(dead, "jobmanager", f"127.0.0.1:{realservers.free_port()}", "flinkUiUrl")
    row = rows(dead)["taskmanager-2"]
    assert row.cause.startswith("nothing answers at") and "`docker logs jobmanager`" in row.wayOut


# -- the later stacks' services: real servers where Debian has them, else stand-ins -------

def later(config: dict, *services: str) -> dict:
    return only(program_outputs(config), *services)


@pytest.fixture(scope="module")
def redis_secured():
    yield from running(realservers.RedisServer("rd check 'pw'"), "Redis from Debian's packages")


@pytest.fixture(scope="module")
def redis_open():
    yield from running(realservers.RedisServer(None), "Redis from Debian's packages")


def redis_row(server, password: str) -> check.Row:
    outputs = later({"stacks": json.dumps(["redis"])}, "redis")
    outputs.update(redisUrl=f"redis://{server.address}", redisPassword=password)
    return rows(point(outputs, "redis", server.address))["redis"]


def test_redis_answers_ping_with_the_password_and_refuses_it_without(redis_secured, redis_open):
    row = redis_row(redis_secured, redis_secured.password)
    assert row.result == check.PASS and row.found == "PONG with the password; without it: NOAUTH", row
    wrong = redis_row(redis_secured, "redis-pass")
    assert wrong.result == check.FAIL and wrong.cause.startswith("Redis refuses the password (")
    assert "redisPassword" in wrong.wayOut
    open_to_all = redis_row(redis_open, "redis-pass")
    assert open_to_all.result == check.FAIL and "answers PING without a password" in open_to_all.cause
    dead = redis_row(realservers.RedisServer(None), "x")  # never started: nothing listens at its port
    assert dead.result == check.FAIL and dead.cause.endswith("(connection refused)")
    assert "docker ps -a --filter name=redis" in dead.wayOut


@pytest.fixture(scope="module")
def marquez_postgres():
    cluster = realservers.PostgresCluster("replica", password="mq check pw", user="marquez", database="marquez")
    yield from running(cluster, "Postgres from Debian's packages")


def marquez_db_row(dsn: str) -> check.Row:
    outputs = later({"stacks": json.dumps(["lineage"])}, "marquez-db")
    outputs["marquezDbDsn"] = dsn
    return rows(point(outputs, "marquez-db", psycopg.conninfo.conninfo_to_dict(dsn)["host"] + ":" +
                      psycopg.conninfo.conninfo_to_dict(dsn)["port"]))["marquez-db"]


def test_marquez_db_takes_marquezs_login(marquez_postgres):
    assert "mq%20check%20pw" in marquez_postgres.dsn  # as the program's output has it
    row = marquez_db_row(marquez_postgres.dsn)
    assert row.result == check.PASS and row.found == "marquez logged in to database marquez", row
    wrong = marquez_db_row(marquez_postgres.dsn.replace("mq%20check%20pw", "marquez"))
    assert wrong.result == check.FAIL and "refuses marquez's login (password authentication failed)" in wrong.cause
    assert "marquezPassword" in wrong.wayOut
    dead = marquez_db_row(f"postgresql://marquez:x@127.0.0.1:{realservers.free_port()}/marquez")
    assert dead.result == check.FAIL and dead.cause.startswith("nothing answers at 127.0.0.1:")
    assert "docker ps -a --filter name=marquez_db" in dead.wayOut


def test_the_metastores_one_shot_made_its_database(postgres_logical):
    outputs = later(HIVE, "postgres", "metastore-db")
    outputs["postgresDsn"] = postgres_logical.dsn
    point(outputs, "postgres", f"127.0.0.1:{postgres_logical.port}")
    missing = rows(outputs)["metastore-db"]
    assert missing.result == check.FAIL and missing.cause == \
        "database metastore does not exist in the platform's Postgres"
    assert "runs the set-up again" in missing.wayOut
    with psycopg.connect(postgres_logical.dsn, autocommit=True) as conn:
        conn.execute("CREATE DATABASE metastore")
    try:
        made = rows(outputs)["metastore-db"]
        assert made.result == check.PASS and made.found == "database metastore exists (owner db_user)", made
    finally:
        with psycopg.connect(postgres_logical.dsn, autocommit=True) as conn:
            conn.execute("DROP DATABASE metastore")
    # Postgres gone: the way out is Postgres's, the service published where it is asked
    point(outputs, "postgres", f"127.0.0.1:{realservers.free_port()}")
    outputs["postgresDsn"] = f"postgresql://db_user:x@{outputs['services']['postgres']['addresses'][0]}/factorhouse"
    dead = rows(outputs)["metastore-db"]
    assert dead.cause.startswith("nothing answers at") and "--filter name=postgres`" in dead.wayOut


@pytest.fixture(scope="module")
def alertmanager_server():
    config = run_program({"stacks": json.dumps(["telemetry"])}).files("alertmanager")["/etc/alertmanager/alertmanager.yml"]
    yield from running(realservers.AlertmanagerServer(), "Alertmanager from Debian's packages", config)


@pytest.fixture(scope="module")
def prometheus_servers(alertmanager_server):
    """Two real Prometheus servers: one whose targets all answer (itself, Alertmanager),
    one with a target where nothing answers."""
    from concurrent.futures import ThreadPoolExecutor
    good, bad = realservers.PrometheusServer(), realservers.PrometheusServer()
    good.jobs = {"prometheus": [good.address], "alertmanager": [alertmanager_server.address]}
    bad.jobs = {"prometheus": [bad.address], "kpow": [f"127.0.0.1:{realservers.free_port()}"]}
    try:
        engine.need(good.problem(), "Prometheus from Debian's packages")
        with ThreadPoolExecutor(2) as pool:  # both at once: each waits for its first scrapes
            for problem in pool.map(lambda server: server.start(server.jobs), (good, bad)):
                engine.need(problem, "Prometheus from Debian's packages")
        yield good, bad
    finally:
        good.stop()
        bad.stop()


def telemetry_row(name: str, address: str, key: str, **outputs) -> check.Row:
    config = later({"stacks": json.dumps(["telemetry"])}, name)
    config.update(outputs)
    return rows(point(config, name, address, key))[name]


def test_prometheus_scrapes_every_target_the_stack_configures_none_down(prometheus_servers):
    good, bad = prometheus_servers
    row = telemetry_row("prometheus", good.address, "prometheusUrl", prometheusTargets=good.jobs)
    assert row.result == check.PASS and row.found == "2 targets, 2 up", row
    missing = telemetry_row("prometheus", good.address, "prometheusUrl",
                            prometheusTargets={**good.jobs, "flink": ["jobmanager:9249"]})
    assert missing.result == check.FAIL
    assert missing.cause == "Prometheus does not scrape jobmanager:9249 (job flink), which the stack configures"
    down = telemetry_row("prometheus", bad.address, "prometheusUrl", prometheusTargets=bad.jobs)
    assert down.result == check.FAIL
    assert down.cause.startswith(f"target {bad.jobs['kpow'][0]} of job kpow is down: ") and "refused" in down.cause
    assert down.wayOut == "read its log: `make logs S=127.0.0.1 STACK=dev`"  # the target's service, by its host


def test_alertmanager_is_ready_and_names_its_version(alertmanager_server, servers):
    row = telemetry_row("alertmanager", alertmanager_server.address, "alertmanagerUrl")
    assert row.result == check.PASS and re.fullmatch(r"ready; Alertmanager \d+\.\d+\.\d+.*", row.found), row
    other = servers(fake.Marquez())  # something else answers there
    row = telemetry_row("alertmanager", other.address, "alertmanagerUrl")
    assert row.result == check.FAIL and row.cause.endswith("/-/ready answered 404 (HTTP 404 Not Found)")


def test_grafana_logs_in_and_its_datasource_answers(servers):
    def grafana(server) -> check.Row:
        return telemetry_row("grafana", server.address, "grafanaUrl", grafanaUser="admin", grafanaPassword="gf-pw")
    row = grafana(servers(fake.Grafana("gf-pw")))
    assert row.result == check.PASS and row.found == "Grafana 12.1.1; datasource Prometheus answers", row
    wrong = grafana(servers(fake.Grafana("admin")))
    assert wrong.cause == "Grafana refuses admin's password (401)"
    assert "reset-admin-password" in wrong.wayOut and "make shell S=grafana STACK=dev" in wrong.wayOut
    none = grafana(servers(fake.Grafana("gf-pw", "no-datasource")))
    assert none.cause == "Grafana has no Prometheus datasource: its provisioning did not apply"
    down = grafana(servers(fake.Grafana("gf-pw", "datasource-down")))
    assert down.cause.startswith("Grafana cannot query its datasource Prometheus (http://prometheus:9090): Post ")
    assert down.wayOut == "read its log: `make logs S=prometheus STACK=dev`"


def marquez_rows(api: fake.FakeService, web: fake.FakeService) -> dict[str, check.Row]:
    outputs = later({"stacks": json.dumps(["lineage"])}, "marquez-api", "marquez-web")
    outputs["marquezAdminUrl"] = api.url  # the stand-in serves the admin's /healthcheck too
    point(outputs, "marquez-api", api.address, "marquezUrl")
    return rows(point(outputs, "marquez-web", web.address, "marquezWebUrl"))


def test_marquez_api_lists_its_namespaces_healthy_and_the_ui_reaches_it(servers):
    api = servers(fake.Marquez())
    good = marquez_rows(api, servers(fake.MarquezWeb(api.url)))
    assert {r.result for r in good.values()} == {check.PASS}, good
    assert good["marquez-api"].found == "2 namespace(s); health checks deadlocks, postgresql healthy"
    assert good["marquez-web"].found == "the UI answers; through it, the API lists 2 namespace(s)"
    sick = servers(fake.Marquez("unhealthy"))
    bad = marquez_rows(sick, servers(fake.MarquezWeb(f"http://127.0.0.1:{realservers.free_port()}")))
    assert bad["marquez-api"].cause == "Marquez's health check postgresql fails: Cannot connect to marquez-db:5432"
    assert bad["marquez-web"].cause.startswith("the UI answers, but not the API through it: GET ")
    assert "answered 504" in bad["marquez-web"].cause
    assert bad["marquez-web"].wayOut == "read its log: `make logs S=marquez-api STACK=dev`"
    empty = marquez_rows(servers(fake.Marquez("no-default")), servers(fake.MarquezWeb(api.url)))["marquez-api"]
    assert empty.result == check.FAIL and empty.cause.endswith("lists no namespace default (['fh-local'])")


def clickhouse_row(server: fake.ClickHouse, password: str) -> check.Row:
    outputs = later({"stacks": json.dumps(["clickhouse"])}, "ch-server")
    outputs["clickhousePassword"] = password
    return rows(point(outputs, "ch-server", server.address, "clickhouseUrl"))["ch-server"]


def test_clickhouse_pings_and_selects_1_with_the_password(servers):
    row = clickhouse_row(servers(fake.ClickHouse("ch-pw")), "ch-pw")
    assert row.result == check.PASS and row.found == "Ok.; SELECT 1 returned 1; without the password: refused", row
    empty = clickhouse_row(servers(fake.ClickHouse("")), "")
    assert empty.result == check.PASS and "clickhousePassword is empty" in empty.found
    wrong = clickhouse_row(servers(fake.ClickHouse("ch-pw")), "other")
    assert wrong.cause == "ClickHouse refuses default's password (401)" and "clickhousePassword" in wrong.wayOut
    anyone = clickhouse_row(servers(fake.ClickHouse("ch-pw", accepts_any=True)), "ch-pw")
    assert anyone.cause == "ClickHouse answers default without the password"


def starrocks_rows(frontend, backend) -> dict[str, check.Row]:
    outputs = later({"stacks": json.dumps(["starrocks"])}, "starrocks-fe", "starrocks-be", "starrocks-register")
    outputs["starrocksSqlAddress"] = frontend.address
    point(outputs, "starrocks-fe", f"127.0.0.1:{realservers.free_port()}", "starrocksUrl")
    return rows(point(outputs, "starrocks-be", backend.address, "starrocksBackendUrl"))


def test_starrocks_lists_its_backend_alive_and_registered(servers):
    frontend = fake.StarRocksFrontend({"starrocks-be:9050": True})
    try:
        good = starrocks_rows(frontend, servers(fake.StarRocksBackend()))
        assert {r.result for r in good.values()} == {check.PASS}, good
        assert good["starrocks-fe"].found == "backend starrocks-be:9050 alive"
        assert good["starrocks-register"].found == "backend starrocks-be:9050 registered"
        assert frontend.queries.count("SHOW BACKENDS") == 1  # asked once for both rows
    finally:
        frontend.close()
    dead = fake.StarRocksFrontend({"starrocks-be:9050": False})
    none = fake.StarRocksFrontend({})
    try:
        bad = starrocks_rows(dead, servers(fake.StarRocksBackend(healthy=False)))
        assert bad["starrocks-fe"].cause == "backend starrocks-be:9050 is not alive (heartbeat timeout)"
        assert bad["starrocks-fe"].wayOut == "read its log: `make logs S=starrocks-be STACK=dev`"
        assert bad["starrocks-register"].result == check.PASS  # registered, though not alive
        assert bad["starrocks-be"].cause.endswith("not status OK")
        empty = starrocks_rows(none, servers(fake.StarRocksBackend()))
        assert empty["starrocks-fe"].cause == "the frontend lists no backend: queries have nowhere to run"
        assert empty["starrocks-register"].cause == \
            "the frontend does not list backend starrocks-be:9050 (it lists none)"
        assert "runs the registration again" in empty["starrocks-register"].wayOut
    finally:
        dead.close()
        none.close()
    gone = starrocks_rows(none, servers(fake.StarRocksBackend()))  # closed: nothing answers
    assert gone["starrocks-fe"].cause == f"nothing answers at {none.address} (connection refused)"


def test_cloudbeaver_answers_set_up(servers):
    def ask(server) -> check.Row:
        outputs = later({"stacks": json.dumps(["clickhouse"])}, "cloudbeaver")
        return rows(point(outputs, "cloudbeaver", server.address, "cloudbeaverUrl"))["cloudbeaver"]
    row = ask(servers(fake.CloudBeaver()))
    assert row.result == check.PASS and row.found == "My Data Platform (CloudBeaver 25.2.0.202509) answers, set up"
    waiting = ask(servers(fake.CloudBeaver(configured=False)))
    assert waiting.cause.startswith("CloudBeaver waits to be configured") and "cloudbeaver-workspace" in waiting.wayOut


def metastore_row(address: str) -> check.Row:
    outputs = later(HIVE, "hive-metastore")
    outputs["hiveMetastoreUri"] = f"thrift://{address}"
    return rows(point(outputs, "hive-metastore", address))["hive-metastore"]


@pytest.mark.parametrize("variant,cause", [
    ("failing", "takes connections but its get_all_databases failed: MetaException: "),
    ("hangs-up", "takes connections but gives no Thrift answer ("),
    ("empty", "the metastore lists no database default ([]): its schema was not made")])
def test_the_hive_metastore_answers_a_thrift_call(variant, cause):
    good = fake.HiveMetastore(("default", "sales"))
    broken = fake.HiveMetastore((), variant) if variant == "empty" else fake.HiveMetastore(variant=variant)
    try:
        row = metastore_row(good.address)
        assert row.result == check.PASS and row.found == "2 database(s): default, sales", row
        assert good.calls == 1
        failed = metastore_row(broken.address)
        assert failed.result == check.FAIL and cause in failed.cause, failed
    finally:
        good.close()
        broken.close()
    dead = metastore_row(broken.address)
    assert dead.cause == f"nothing answers at {broken.address} (connection refused)"


def test_spark_with_catalog_hive_is_asked_for_its_history_server(servers):
    outputs = later(HIVE, "spark-iceberg")
    assert "jupyterUrl" not in outputs
    point(outputs, "spark-iceberg", f"127.0.0.1:{realservers.free_port()}")
    outputs["sparkHistoryUrl"] = servers(fake.SparkHistory()).url
    row = rows(copy.deepcopy(outputs))["spark-iceberg"]
    assert row.result == check.PASS and row.found == "the history server lists 1 application(s)", row
    assert row.asked.startswith(f"the Spark history server ({outputs['sparkHistoryUrl']}/api/v1/applications)")
    outputs["sparkHistoryUrl"] = servers(fake.Marquez()).url  # something else answers there
    assert rows(outputs)["spark-iceberg"].cause.endswith("/api/v1/applications answered 404 (HTTP 404 Not Found)")


# -- the rows, all at once ----------------------------------------------------------------

def test_a_service_without_a_question_is_listed_and_fails_nothing(tmp_path, capsys):
    outputs = only(program_outputs(), "mc")
    outputs["services"]["superset"] = {"stack": "bi", "workload": "superset", "oneShot": False,
                                       "addresses": ["127.0.0.1:8088"]}
    outputs["minioApiUrl"] = f"http://127.0.0.1:{realservers.free_port()}"
    (tmp_path / "o.json").write_text(json.dumps(outputs))
    assert check.main(["--outputs", str(tmp_path / "o.json"), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    superset = next(r for r in report["services"] if r["service"] == "superset")
    assert superset["result"] == "no check yet" and report["passed"] is False
    del outputs["services"]["mc"]
    (tmp_path / "o.json").write_text(json.dumps(outputs))
    assert check.main(["--outputs", str(tmp_path / "o.json")]) == 0
    text = capsys.readouterr().out
    assert re.search(r"^no check yet +superset +- ", text, re.M)
    assert text.rstrip().endswith("0 passed, 0 failed, 1 without a check yet, in 0.0 s")


def test_questions_run_at_the_same_time(servers):
    """Each of four services answers only once all four have been asked (told by the
    servers, not by a clock): asked one after another, the first would wait for the
    others and the check would fail. bench/bench_check.py times it."""
    outputs = only(program_outputs(), "connect", "rest", "pinot-controller", "pinot-broker")
    together = Together(4, patience=plumbing.READ_TIMEOUT - 1)  # shorter than a question's own wait
    for name, server, key in (("connect", fake.Connect(outputs["kafkaConnectPlugins"]), "kafkaConnectUrl"),
                              ("rest", fake.IcebergRest(), "icebergRestUrl"),
                              ("pinot-controller", fake.PinotController(), "pinotControllerUrl"),
                              ("pinot-broker", fake.PinotBroker(), "pinotBrokerUrl")):
        server.together = together
        point(outputs, name, servers(server).address, key)
    answers = rows(outputs)
    assert together.met, "the four questions were never in flight at once"
    assert {r.result for r in answers.values()} == {check.PASS}


def whole_platform(servers, kafka, zookeeper, postgres, engine_kind: str = "docker") -> dict:
    """The outputs of the whole platform (lite: one broker, one taskmanager), every service
    answered by a real server or a local one."""
    outputs = program_outputs({"profile": "lite"})
    outputs["engine"]["kind"] = engine_kind
    outputs["kafkaBootstrapServers"] = kafka.good
    point(outputs, "kafka-1", kafka.good)
    point(outputs, "zookeeper", zookeeper.address)
    outputs["postgresDsn"] = postgres.dsn
    point(outputs, "postgres", f"127.0.0.1:{postgres.port}")
    for name, server, keys in (
            ("schema", fake.SchemaRegistry(), ["schemaRegistryUrl"]),
            ("connect", fake.Connect(outputs["kafkaConnectPlugins"]), ["kafkaConnectUrl"]),
            ("kpow", fake.FactorHouseUi("login"), ["kpowUrl"]), ("flex", fake.FactorHouseUi("open"), ["flexUrl"]),
            ("jobmanager", fake.JobManager([5]), ["flinkUiUrl"]), ("sql-gateway", fake.SqlGateway(), ["sqlGatewayUrl"]),
            ("rest", fake.IcebergRest(), ["icebergRestUrl"]),
            ("minio", fake.MinIO("admin", "password", ["warehouse", "factorhouse"]), ["minioApiUrl"]),
            ("spark-iceberg", fake.Jupyter(), ["jupyterUrl"]),
            ("pinot-controller", fake.PinotController(), ["pinotControllerUrl"]),
            ("pinot-broker", fake.PinotBroker(), ["pinotBrokerUrl"])):
        point(outputs, name, servers(server).address, *keys)
    outputs["sparkUiUrl"] = servers(fake.SparkMaster()).url
    return outputs


def test_the_whole_platform_passes_on_either_engine(servers, kafka, zookeeper, postgres_logical,
                                                                tmp_path, capsys):
    for kind in ("docker", "kubernetes"):
        outputs = whole_platform(servers, kafka, zookeeper, postgres_logical, kind)
        (tmp_path / "o.json").write_text(json.dumps(outputs))
        assert check.main(["--outputs", str(tmp_path / "o.json"), "--json", "--stack", "alice"]) == 0, \
            capsys.readouterr().out
        report = json.loads(capsys.readouterr().out)
        assert report["passed"] and report["engine"] == kind and report["stack"] == "alice"
        assert [r["service"] for r in report["services"]] == [
            # by stack, in the order of `stacks`; by name within one
            "connect", "kafka-1", "kpow", "schema", "zookeeper", "flex", "jobmanager", "sql-gateway", "taskmanager-1",
            "mc", "minio", "postgres", "rest", "spark-iceberg", "pinot-broker", "pinot-controller", "pinot-server"]
        assert {r["result"] for r in report["services"]} == {"pass"}
        assert all(set(r) == {"service", "stack", "asked", "result", "seconds", "found", "cause", "wayOut"}
                   for r in report["services"])


LATER = ("metastore-db", "hive-metastore", "spark-iceberg", "alertmanager", "prometheus", "grafana", "marquez-db",
         "marquez-api", "marquez-web", "redis", "ch-server", "cloudbeaver", "starrocks-fe", "starrocks-be",
         "starrocks-register")


def test_the_later_stacks_pass_together_on_either_engine(servers, redis_secured, marquez_postgres,
                                                                     postgres_logical, prometheus_servers,
                                                                     alertmanager_server, tmp_path, capsys):
    """Every service of telemetry, lineage, redis, clickhouse, starrocks and the hive
    catalog at once, each answered by a real server or a stand-in."""
    good, _ = prometheus_servers
    frontend, metastore = fake.StarRocksFrontend({"starrocks-be:9050": True}), fake.HiveMetastore()
    api = servers(fake.Marquez())
    with psycopg.connect(postgres_logical.dsn, autocommit=True) as conn:
        conn.execute("CREATE DATABASE metastore")
    try:
        for kind in ("docker", "kubernetes"):
            outputs = later(HIVE, "postgres", *LATER)
            outputs["engine"]["kind"] = kind
            outputs.update(postgresDsn=postgres_logical.dsn, marquezDbDsn=marquez_postgres.dsn,
                           redisUrl=f"redis://{redis_secured.address}", redisPassword=redis_secured.password,
                           hiveMetastoreUri=f"thrift://{metastore.address}", starrocksSqlAddress=frontend.address,
                           prometheusTargets=good.jobs, grafanaPassword="gf-pw", marquezAdminUrl=api.url)
            for name, address, keys in (
                    ("postgres", f"127.0.0.1:{postgres_logical.port}", []),
                    ("marquez-db", f"127.0.0.1:{marquez_postgres.port}", []),
                    ("redis", redis_secured.address, []), ("hive-metastore", metastore.address, []),
                    ("starrocks-fe", frontend.address, []),
                    ("prometheus", good.address, ["prometheusUrl"]),
                    ("alertmanager", alertmanager_server.address, ["alertmanagerUrl"]),
                    ("grafana", servers(fake.Grafana("gf-pw")).address, ["grafanaUrl"]),
                    ("marquez-api", api.address, ["marquezUrl"]),
                    ("marquez-web", servers(fake.MarquezWeb(api.url)).address, ["marquezWebUrl"]),
                    ("ch-server", servers(fake.ClickHouse("")).address, ["clickhouseUrl"]),
                    ("cloudbeaver", servers(fake.CloudBeaver()).address, ["cloudbeaverUrl"]),
                    ("starrocks-be", servers(fake.StarRocksBackend()).address, ["starrocksBackendUrl"]),
                    ("spark-iceberg", servers(fake.SparkHistory()).address, ["sparkHistoryUrl"])):
                point(outputs, name, address, *keys)
            (tmp_path / "o.json").write_text(json.dumps(outputs))
            assert check.main(["--outputs", str(tmp_path / "o.json"), "--json"]) == 0, capsys.readouterr().out
            report = json.loads(capsys.readouterr().out)
            assert [r["service"] for r in report["services"]] == [
                "hive-metastore", "metastore-db", "postgres", "spark-iceberg", "alertmanager", "grafana", "prometheus",
                "marquez-api", "marquez-db", "marquez-web", "redis", "ch-server", "cloudbeaver", "starrocks-be",
                "starrocks-fe", "starrocks-register"]
            assert {r["result"] for r in report["services"]} == {"pass"}, report
    finally:
        frontend.close()
        metastore.close()
        with psycopg.connect(postgres_logical.dsn, autocommit=True) as conn:
            conn.execute("DROP DATABASE metastore")


def test_a_failing_row_has_one_line_of_cause_and_one_of_the_way_out(servers, kafka, zookeeper, postgres_replica,
                                                                     tmp_path, capsys):
    outputs = whole_platform(servers, kafka, zookeeper, postgres_replica)
    (tmp_path / "o.json").write_text(json.dumps(outputs))
    assert check.main(["--outputs", str(tmp_path / "o.json")]) == 1
    lines = capsys.readouterr().out.splitlines()
    failed = [n for n, line in enumerate(lines) if line.startswith("fail ")]
    assert len(failed) == 1 and " postgres " in lines[failed[0]]
    assert lines[failed[0] + 1].split()[0] == "cause:" and lines[failed[0] + 2].split()[:2] == ["way", "out:"]
    assert lines[-1].startswith("16 passed, 1 failed, 0 without a check yet, in ")


# -- reading the stack's outputs ----------------------------------------------------------

FAKE_PULUMI = r"""#!/bin/sh
echo "$* | passphrase=${PULUMI_CONFIG_PASSPHRASE:-none}" >> "$CALLS"
[ -n "$FAIL" ] && { echo "error: no stack named 'nope' found" >&2; exit 255; }
printf '%s' "$OUTPUTS"
"""


@pytest.fixture
def pulumi_world(tmp_path):
    bin_dir = stand_in(tmp_path, "pulumi", FAKE_PULUMI)
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text((PROJECT_DIR / "Pulumi.yaml").read_text())
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "CALLS": str(tmp_path / "calls"),
           "OUTPUTS": json.dumps({"stacks": ["kpow"], "services": {}})}
    return project, env, tmp_path / "calls"


def test_outputs_are_read_with_secrets_as_the_user_reads_them(pulumi_world):
    project, env, calls = pulumi_world
    asked = []
    outputs = stack_outputs.read("alice", project, env, interactive=True, ask=lambda p: asked.append(p) or "pp")
    assert outputs == {"stacks": ["kpow"], "services": {}}
    assert calls.read_text().splitlines() == [
        "stack output --json --show-secrets --non-interactive --stack alice | passphrase=pp"]
    assert asked == ["Passphrase of stack alice's secrets: "]
    # a passphrase from the environment is used as it is
    stack_outputs.read("alice", project, {**env, "PULUMI_CONFIG_PASSPHRASE": "env"}, interactive=False,
                       ask=lambda p: pytest.fail("asked"))
    assert calls.read_text().splitlines()[-1].endswith("passphrase=env")


def test_unreadable_outputs_stop_in_one_line(pulumi_world, capsys):
    project, env, calls = pulumi_world
    with pytest.raises(stack_outputs.OutputsError, match=r"^Set PULUMI_CONFIG_PASSPHRASE .* no terminal to ask\.$"):
        stack_outputs.read("dev", project, env, interactive=False)
    assert not calls.exists()
    env["PULUMI_CONFIG_PASSPHRASE"] = "x"
    with pytest.raises(stack_outputs.OutputsError, match=r"no stack named 'nope' found.*make up STACK=nope"):
        stack_outputs.read("nope", project, {**env, "FAIL": "1"}, interactive=False)
    with pytest.raises(stack_outputs.OutputsError, match="has no outputs"):
        stack_outputs.read("dev", project, {**env, "OUTPUTS": "{}"}, interactive=False)
    assert check.main(["--stack", "dev", "--project-dir", str(project)], env={**env, "OUTPUTS": "{}"},
                      interactive=False) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "make up STACK=dev" in err
    assert check.main(["--project-dir", str(project)], env=env, interactive=False) == 2  # no services
    assert "run `make up STACK=dev` once" in capsys.readouterr().err


def test_make_check_runs_the_check_on_the_stack_named():
    dry = subprocess.run(["make", "-n", "check", "STACK=alice"], cwd=PROJECT_DIR, capture_output=True, text=True)
    assert "commands/check.py --stack alice" in dry.stdout
    dry = subprocess.run(["make", "-n", "check", "JSON=1"], cwd=PROJECT_DIR, capture_output=True, text=True)
    assert "commands/check.py --stack dev --json" in dry.stdout


def test_the_readme_says_what_every_row_asks():
    section = (PROJECT_DIR / "README.md").read_text().split("## Is it working?", 1)[1].split("\n## ", 1)[0]
    for key in plumbing.QUESTIONS:
        assert f"`{key}" in section, key
    assert "no check yet" in section and "make forward" in section
