"""The metadata stack of docs/services.md (OpenMetadata), under mocks on both engines:
each service's image, ports, settings, files, data, health and order; the connections it
is given to the other stacks that run, and to nothing else; its passwords as secrets,
refused at their defaults where others reach them; the migration's failure failing `up`
naming it; every manifest valid. Then for real: resources/metadata/omt.py against a local
server that answers as OpenMetadata does, the Flink connector's declared lineage, and the
ingestion image's Dockerfile built on a locally made base."""

import base64
import itertools
import json
import os
import subprocess
import sys
import uuid

import pytest

from engine import docker, free_port
from fake_metadata import Airflow as FakeAirflow, OpenMetadata
from harness import CONTAINER, PROJECT_DIR, run_program
from settings import STACKS, SettingsError
from test_kubernetes import (CLAIM, JOB, PASSWORDS, SECRET, VERSIONS, Pods, assert_valid, kubernetes_view, manifests,
                             same_dependencies)
from test_stores import docker_view_as_probes

RESOURCES = PROJECT_DIR / "resources"
SERVICES = ["omt-db", "omt-es", "omt-migrate", "omt-server", "omt-setup", "omt-ingestion"]
OWN = {**PASSWORDS, "openmetadataPassword": "Om-k8s-pw1!", "openmetadataDbPassword": "omt-k8s-pw",
       "airflowPassword": "airflow-k8s-pw"}
K8S = {"engine": "kubernetes", **OWN}
SERVICES_JSON = "/opt/factorhouse/services.json"


def stacks(*chosen) -> dict[str, str]:
    return {"stacks": json.dumps([*chosen, "metadata"])}


@pytest.fixture(scope="module")
def alone():
    return run_program(stacks())


def test_the_metadata_services(alone):
    assert [n for n in alone.outputs["services"]] == SERVICES
    rows = {n: (alone.container(n)["name"], alone.ports(n)) for n in SERVICES}
    assert rows == {
        "omt-db": ("omt_db", [("127.0.0.1", 5434, 5432)]),
        "omt-es": ("omt_es", [("127.0.0.1", 9200, 9200), ("127.0.0.1", 9300, 9300)]),
        "omt-migrate": ("omt_migrate", []),
        "omt-server": ("omt_server", [("127.0.0.1", 8585, 8585), ("127.0.0.1", 8586, 8586)]),
        "omt-setup": ("omt_setup", []),
        "omt-ingestion": ("omt_ingestion", [("127.0.0.1", 8080, 8080)]),
    }
    assert alone.image_of("omt-db") == "docker.getcollate.io/openmetadata/postgresql:1.11.4"
    assert alone.image_of("omt-es") == "docker.elastic.co/elasticsearch/elasticsearch:8.11.4"
    assert alone.image_of("omt-server") == alone.image_of("omt-migrate") == \
        "docker.getcollate.io/openmetadata/server:1.11.4"
    assert {r.name for r in alone.of_type(CONTAINER)} == set(SERVICES)


def test_the_database(alone):
    db = alone.container("omt-db")
    assert db["command"] == ["--work_mem=10MB"] and db["restart"] == "always"
    assert alone.env("omt-db") == {"POSTGRES_USER": "omt_user", "POSTGRES_PASSWORD": "omt_pass", "POSTGRES_DB": "omt_db"}
    assert alone.secret("omt-db", "envs")
    assert alone.mounts("omt-db")["/var/lib/postgresql/data"]["volumeName"] == "omt-db-data"
    assert alone.one("docker:index/volume:Volume", "volume-omt-db-data").retain_on_delete
    assert db["healthcheck"]["tests"] == ["CMD", "pg_isready", "-h", "127.0.0.1", "-U", "omt_user", "-d", "omt_db"]


@pytest.mark.parametrize("profile, heap, memory", [("full", "-Xms1024m -Xmx1024m", 2048),
                                                    ("lite", "-Xms512m -Xmx512m", 1024)])
def test_elasticsearch_is_one_node_with_its_memory_bounded_by_the_profile(profile, heap, memory):
    run = run_program({**stacks(), "profile": profile})
    es = run.container("omt-es")
    assert run.env("omt-es") == {"discovery.type": "single-node", "ES_JAVA_OPTS": heap,
                                 "xpack.security.enabled": "false"}
    assert es["memory"] == memory and es["memorySwap"] == 2 * memory
    assert run.mounts("omt-es")["/usr/share/elasticsearch/data"]["volumeName"] == "omt-es-data"
    [shell] = es["healthcheck"]["tests"][1:]
    assert es["healthcheck"]["tests"][0] == "CMD-SHELL" and "_cluster/health" in shell and "green|yellow" in shell
    server_heap = run.env("omt-server")["OPENMETADATA_HEAP_OPTS"]
    assert server_heap == ("-Xmx1G -Xms1G" if profile == "full" else "-Xmx768m -Xms768m")


def test_the_migration_is_a_one_shot_after_the_database_and_elasticsearch(alone):
    migrate = alone.container("omt-migrate")
    assert migrate["command"] == ["./bootstrap/openmetadata-ops.sh", "migrate"]
    assert migrate["mustRun"] is False and migrate["attach"] is True
    assert alone.waits_until_healthy(migrate, "omt-db") and alone.waits_until_healthy(migrate, "omt-es")
    assert alone.env("omt-migrate") == alone.env("omt-server")
    # it runs again (harmlessly: it applies only what the database lacks) with a new database
    labels = {label["label"]: label["value"] for label in migrate["labels"]}
    assert labels["dev.factorhouse.local.replace-when"] == "omt-db-id"


def test_the_server(alone):
    server = alone.container("omt-server")
    env = alone.env("omt-server")
    assert {k: env[k] for k in ("DB_HOST", "DB_USER", "DB_USER_PASSWORD", "OM_DATABASE", "ELASTICSEARCH_HOST",
                                "SEARCH_TYPE", "AUTHORIZER_PRINCIPAL_DOMAIN", "PIPELINE_SERVICE_CLIENT_ENDPOINT",
                                "SERVER_HOST_API_URL", "AIRFLOW_USERNAME", "AIRFLOW_PASSWORD")} == {
        "DB_HOST": "omt-db", "DB_USER": "omt_user", "DB_USER_PASSWORD": "omt_pass", "OM_DATABASE": "omt_db",
        "ELASTICSEARCH_HOST": "omt-es", "SEARCH_TYPE": "elasticsearch", "AUTHORIZER_PRINCIPAL_DOMAIN": "factorhouse.io",
        "PIPELINE_SERVICE_CLIENT_ENDPOINT": "http://omt-ingestion:8080",
        "SERVER_HOST_API_URL": "http://omt-server:8585/api", "AIRFLOW_USERNAME": "admin", "AIRFLOW_PASSWORD": "admin"}
    assert not [k for k, v in env.items() if v != v.strip() or v.startswith('"')]  # no stray quotes or spaces
    assert alone.secret("omt-server", "envs")
    # healthy only when its own admin port's health checks pass
    assert server["healthcheck"]["tests"] == ["CMD", "wget", "-q", "--spider", "http://localhost:8586/healthcheck"]
    waits = alone.depends_on(server)
    assert alone.waits_until_healthy(server, "omt-db") and alone.waits_until_healthy(server, "omt-es")
    assert "omt-migrate" in waits  # its exit code: a failed migration fails the run (below)


def test_the_set_up_one_shot_once_the_server_is_healthy(alone):
    setup = alone.container("omt-setup")
    assert setup["entrypoints"] == ["python3", "/opt/factorhouse/omt.py", "setup", SERVICES_JSON]
    assert setup["mustRun"] is False and alone.waits_until_healthy(setup, "omt-server")
    assert alone.env("omt-setup") == {"OM_API": "http://omt-server:8585/api", "OM_ADMIN_EMAIL": "admin@factorhouse.io",
                                      "OM_ADMIN_PASSWORD": "admin", "OM_FIRST_PASSWORD": "admin"}
    files = alone.files("omt-setup")
    assert files["/opt/factorhouse/omt.py"] == (RESOURCES / "metadata/omt.py").read_text()
    assert json.loads(files[SERVICES_JSON]) == []  # alone: nothing to catalogue
    assert alone.secret("omt-setup", "uploads")
    # the ingestion image: it has python3
    assert alone.image_of("omt-setup") == alone.image_of("omt-ingestion")


def test_the_ingestion(alone):
    ingestion = alone.container("omt-ingestion")
    assert ingestion["entrypoints"] == ["/bin/bash", "/opt/factorhouse/start-ingestion.sh"]
    env = alone.env("omt-ingestion")
    assert {k: env[k] for k in ("DB_HOST", "AIRFLOW_DB", "DB_USER", "DB_PASSWORD", "DB_SCHEME", "AIRFLOW_ADMIN_USER",
                                "AIRFLOW_ADMIN_PASSWORD", "AIRFLOW__LINEAGE__OPENMETADATA_API_ENDPOINT",
                                "OM_ADMIN_PASSWORD")} == {
        "DB_HOST": "omt-db", "AIRFLOW_DB": "airflow_db", "DB_USER": "omt_user", "DB_PASSWORD": "omt_pass",
        "DB_SCHEME": "postgresql+psycopg2", "AIRFLOW_ADMIN_USER": "admin", "AIRFLOW_ADMIN_PASSWORD": "admin",
        "AIRFLOW__LINEAGE__OPENMETADATA_API_ENDPOINT": "http://omt-server:8585/api", "OM_ADMIN_PASSWORD": "admin"}
    assert set(alone.files("omt-ingestion")) == {"/opt/factorhouse/omt.py", "/opt/factorhouse/start-ingestion.sh"}
    assert {p: m["volumeName"] for p, m in alone.mounts("omt-ingestion").items()} == {
        "/opt/airflow/dags": "omt-ingestion-dags", "/opt/airflow/dag_generated_configs": "omt-ingestion-dag-configs"}
    for name in ("omt-db", "omt-es", "omt-server"):
        assert alone.waits_until_healthy(ingestion, name), name
    assert "omt-setup" in alone.depends_on(ingestion)
    check = ingestion["healthcheck"]["tests"]
    assert check[:3] == ["CMD", "python3", "-c"] and "http://localhost:8080/api/v2/monitor/health" in check[3]
    # built here, on OpenMetadata's ingestion image
    assert alone.image_chain("omt-ingestion") == ["build-omt-ingestion",
                                                  "docker.getcollate.io/openmetadata/ingestion:1.11.4"]


@pytest.mark.parametrize("scheduler, metadatabase, healthy", [
    ("healthy", "healthy", True), ("unhealthy", "healthy", False), ("unhealthy", "unhealthy", False)])
def test_the_ingestions_health_check_asks_airflow_3s_api_server(alone, scheduler, metadatabase, healthy):
    """The container's own check, run as is against a stand-in of Airflow 3.1 (the
    ingestion image's): /api/v2/monitor/health; Airflow 2's /health is a 404 there."""
    script = alone.container("omt-ingestion")["healthcheck"]["tests"][3]
    server = FakeAirflow(scheduler=scheduler, metadatabase=metadatabase)
    try:
        here = script.replace("http://localhost:8080", f"http://{server.address}")
        done = subprocess.run([sys.executable, "-c", here], capture_output=True, timeout=30)
        assert done.returncode == (0 if healthy else 1), done.stderr
        old = script.replace("http://localhost:8080/api/v2/monitor/health", f"http://{server.address}/health")
        assert subprocess.run([sys.executable, "-c", old], capture_output=True, timeout=30).returncode != 0
    finally:
        server.close()


def test_airflow_moves_off_8080_only_beside_the_seeds_spark():
    assert run_program(stacks("analytics")).ports("omt-ingestion") == [("127.0.0.1", 8088, 8080)]
    hive = run_program({**stacks("analytics"), "catalog": "hive"})
    assert hive.ports("omt-ingestion") == [("127.0.0.1", 8080, 8080)]
    assert run_program({**stacks(), "portOffset": "100"}).outputs["airflowUrl"] == "http://127.0.0.1:8180"


def test_outputs(alone):
    out = alone.outputs
    assert {k: out[k] for k in ("openmetadataUrl", "openmetadataAdminUrl", "openmetadataUser", "elasticsearchUrl",
                                "airflowUrl", "airflowUser", "openmetadataDbDsn", "openmetadataServices")} == {
        "openmetadataUrl": "http://127.0.0.1:8585", "openmetadataAdminUrl": "http://127.0.0.1:8586",
        "openmetadataUser": "admin@factorhouse.io", "elasticsearchUrl": "http://127.0.0.1:9200",
        "airflowUrl": "http://127.0.0.1:8080", "airflowUser": "admin",
        "openmetadataDbDsn": "postgresql://omt_user:omt_pass@127.0.0.1:5434/omt_db", "openmetadataServices": {}}


# -- what OpenMetadata is given to catalogue -------------------------------------------------

CATALOGUED = {"kpow": {"kafka"}, "analytics": {"postgres", "iceberg"}, "lineage": {"marquez"}}
CHOICES = [c for n in range(4) for c in itertools.combinations(CATALOGUED, n)]


@pytest.mark.parametrize("others", CHOICES, ids=["+".join(c) or "alone" for c in CHOICES])
def test_openmetadata_is_given_the_stacks_that_run_and_nothing_else(others):
    run = run_program(stacks(*others, "pinot"))
    services = json.loads(run.files("omt-setup")[SERVICES_JSON])
    expected = set().union(*(CATALOGUED[o] for o in others)) if others else set()
    assert {s["body"]["name"] for s in services} == expected
    assert run.outputs["openmetadataServices"] == {s["body"]["name"]: s["kind"] for s in services}
    by_name = {s["body"]["name"]: s["body"]["connection"]["config"] for s in services}
    if "kpow" in others:
        assert by_name["kafka"]["bootstrapServers"] == run.env("schema")["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"]
        assert by_name["kafka"]["schemaRegistryURL"] == "http://schema:8081"
        # the connection's secret field, which the ingestion gives the registry client as
        # basic.auth.user.info; that client refuses any key it does not know
        assert by_name["kafka"]["basicAuthUserInfo"] == \
            f"{run.outputs['schemaRegistryUser']}:{run.outputs['schemaRegistryPassword']}"
        assert "schemaRegistryConfig" not in by_name["kafka"]
    if "analytics" in others:
        assert by_name["postgres"]["hostPort"] == "postgres:5432"
        assert by_name["postgres"]["authType"]["password"] == run.env("postgres")["POSTGRES_PASSWORD"]
        assert by_name["iceberg"]["catalog"]["connection"]["uri"] == "http://rest:8181"
    if "lineage" in others:
        assert by_name["marquez"]["authType"]["password"] == run.env("marquez-db")["POSTGRES_PASSWORD"]


def test_with_catalog_hive_openmetadata_reads_the_metastore():
    run = run_program({**stacks("analytics"), "catalog": "hive"})
    [iceberg] = [s for s in json.loads(run.files("omt-setup")[SERVICES_JSON]) if s["body"]["name"] == "iceberg"]
    catalog = iceberg["body"]["connection"]["config"]["catalog"]
    assert catalog["connection"]["uri"] == "thrift://hive-metastore:9083"
    assert catalog["warehouseLocation"] == "s3a://hive-warehouse/"
    assert catalog["connection"]["fileSystem"]["type"]["endPointURL"] == "http://minio:9000"


def test_the_metadata_stack_changes_no_other_stacks_service():
    for others in (("kpow", "analytics", "lineage"), ("flex", "pinot", "telemetry")):
        without = run_program({"stacks": json.dumps(list(others))})
        run = run_program(stacks(*others))
        for name in without.containers:
            assert run.container(name).inputs == without.container(name).inputs, name


# -- passwords ------------------------------------------------------------------------------

KEYS = ["openmetadataPassword", "openmetadataDbPassword", "airflowPassword"]


@pytest.mark.parametrize("config, why", [
    ({"bindAddress": "0.0.0.0"}, "when bindAddress 0.0.0.0 publishes ports to other machines"),
    ({"engine": "kubernetes"}, "with engine kubernetes")])
def test_the_default_passwords_are_refused_where_others_reach_them(config, why):
    with pytest.raises(SettingsError) as caught:
        run_program({**stacks(), **config})
    assert caught.value.registrations == []
    lines = str(caught.value).splitlines()
    assert [line.split(":")[0] for line in lines] == [f"invalid config {key}" for key in KEYS]
    assert all(f"the default password is not allowed {why}" in line for line in lines)
    own = {k: OWN[k] for k in KEYS}
    run_program({**stacks(), **config, **own}, secret_keys=tuple(own))
    run_program({**config, "stacks": '["pinot"]'})  # without the stack, never asked for


@pytest.mark.parametrize("password, ok", [("Admin-4711", True), ("admin4711", False), ("ADMIN-4711", False),
                                          ("Admin4711", False), ("Ad-1", False), ("A" * 50 + "a-1xyz1", False)])
def test_the_administrators_password_follows_openmetadatas_policy(password, ok):
    config = {**stacks(), "openmetadataPassword": password}
    if ok:
        assert run_program(config, secret_keys=("openmetadataPassword",)).env("omt-setup")["OM_ADMIN_PASSWORD"] == password
        return
    with pytest.raises(SettingsError) as caught:
        run_program(config, secret_keys=("openmetadataPassword",))
    assert str(caught.value).startswith("invalid config openmetadataPassword: ") and "policy" in str(caught.value)
    assert password not in str(caught.value)


@pytest.mark.parametrize("key", KEYS)
def test_an_empty_password_is_refused(key):
    with pytest.raises(SettingsError) as caught:
        run_program({**stacks(), key: ""})
    assert f"invalid config {key}: an empty value is not allowed" in str(caught.value)


def test_a_failed_migration_fails_up_naming_it_in_one_line():
    said = "Migration failed: could not connect to omt-db:5432"
    with pytest.raises(Exception) as failed:
        run_program(stacks(), exit_codes={"omt-migrate": 1}, logs={"omt-migrate": said})
    assert str(failed.value).startswith(f"omt_migrate exited with code 1; its log ends: {said}. ")
    assert "\n" not in str(failed.value)


def test_a_failed_set_up_fails_up_naming_it():
    said = "omt: OpenMetadata refuses admin@factorhouse.io's password (openmetadataPassword)"
    with pytest.raises(Exception) as failed:
        run_program(stacks(), exit_codes={"omt-setup": 1}, logs={"omt-setup": said})
    assert str(failed.value).startswith(f"omt_setup exited with code 1; its log ends: {said}. ")


# -- Kubernetes -------------------------------------------------------------------------------

K8S_CASES = [((), "full"), (("kpow", "analytics", "lineage"), "lite")]


@pytest.fixture(scope="module")
def k8s_runs():
    return {case: (run_program({**OWN, **stacks(*case[0]), "profile": case[1]}),
                   run_program({**K8S, **stacks(*case[0]), "profile": case[1]})) for case in K8S_CASES}


@pytest.mark.parametrize("case", K8S_CASES, ids=["+".join(c) or "alone" for c, _ in K8S_CASES])
def test_on_kubernetes_every_metadata_service_runs_what_it_runs_on_docker(k8s_runs, case):
    docker_run, k8s_run = k8s_runs[case]
    on_docker, on_k8s = docker_view_as_probes(docker_run), kubernetes_view(k8s_run)
    assert set(on_k8s) == set(on_docker) >= set(SERVICES)
    for name in on_docker:
        assert on_k8s[name] == on_docker[name], name
    for name, (waits_docker, waits_k8s) in same_dependencies(docker_run, k8s_run).items():
        assert waits_k8s == waits_docker, name


def test_on_kubernetes_the_one_shots_are_jobs_the_data_claims_and_the_passwords_secrets(k8s_runs):
    run = k8s_runs[(("kpow", "analytics", "lineage"), "lite")][1]
    pods = Pods(run)
    for name in ("omt-migrate", "omt-setup"):
        assert pods.workloads[name].type == JOB and pods.workloads[name]["spec"]["backoffLimit"] == 0
    assert pods.data("omt-es") == {"/usr/share/elasticsearch/data": "omt-es-data"}
    # Elasticsearch and Airflow write as users of group 0: their claims are given to it
    assert pods.pod("omt-es")["securityContext"]["fsGroup"] == 0
    assert pods.pod("omt-ingestion")["securityContext"]["fsGroup"] == 0
    assert pods.container("omt-es")["resources"]["limits"]["memory"] == "1024Mi"
    assert {r["metadata"]["name"] for r in run.of_type(CLAIM)} >= {
        "omt-db-data", "omt-es-data", "omt-ingestion-dags", "omt-ingestion-dag-configs"}
    assert pods.env("omt-server")["DB_USER_PASSWORD"] == "omt-k8s-pw"
    assert json.loads(pods.files("omt-setup")[SERVICES_JSON])[1]["body"]["connection"]["config"]["authType"] == \
        {"password": "pg-on-k8s"}
    for r in run.registrations:
        text = json.dumps(r.inputs)
        for value in ("Om-k8s-pw1!", "omt-k8s-pw", "airflow-k8s-pw", "pg-on-k8s", "marquez-on-k8s"):
            assert value not in text or r.type == SECRET, (r.type, r.name, value)


@pytest.mark.parametrize("version", VERSIONS)
def test_metadata_manifests_validate_against_the_kubernetes_schemas(k8s_runs, version):
    runs = [k8s for _, k8s in k8s_runs.values()]
    unique = list({json.dumps(m, sort_keys=True): m for run in runs for m in manifests(run)}.values())
    assert {m["kind"] for m in unique} >= {"Deployment", "Job", "Service", "ConfigMap", "Secret",
                                           "PersistentVolumeClaim"}
    assert_valid(unique, version)


def test_every_stack_beside_metadata_plans_on_both_engines():
    for other in STACKS:
        if other == "metadata":
            continue
        config = {**OWN, "stacks": json.dumps([other, "metadata"])}
        assert set(run_program(config).containers) >= set(SERVICES), other
        assert set(Pods(run_program({**config, "engine": "kubernetes"})).workloads) >= set(SERVICES), other


# -- omt.py for real, against a server that answers as OpenMetadata does ----------------------

OMT = RESOURCES / "metadata/omt.py"
KAFKA = {"kind": "messagingServices", "body": {"name": "kafka", "serviceType": "Kafka",
                                               "connection": {"config": {"type": "Kafka",
                                                                         "bootstrapServers": "kafka-1:19092"}}}}


def omt(server, tmp_path, *args, password="Own-pw-42!") -> subprocess.CompletedProcess:
    services = tmp_path / "services.json"
    services.write_text(json.dumps([KAFKA]))
    env = {**os.environ, "OM_API": f"{server.url}/api", "OM_ADMIN_EMAIL": "admin@factorhouse.io",
           "OM_ADMIN_PASSWORD": password, "OM_FIRST_PASSWORD": "admin"}
    args = [a.replace("SERVICES", str(services)) for a in args]
    return subprocess.run([sys.executable, str(OMT), *args], capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture
def om():
    server = OpenMetadata()
    yield server
    server.close()


def test_setup_sets_the_password_once_and_registers_the_services_again_harmlessly(om, tmp_path):
    first = omt(om, tmp_path, "setup", "SERVICES")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "omt-setup: admin@factorhouse.io logs in; services: kafka"
    assert om.password == "Own-pw-42!"
    assert om.password_changes == [{"username": "admin", "oldPassword": "admin", "newPassword": "Own-pw-42!",
                                    "confirmPassword": "Own-pw-42!", "requestType": "SELF"}]
    assert om.services == {("messagingServices", "kafka"): KAFKA["body"]}
    again = omt(om, tmp_path, "setup", "SERVICES")
    assert again.returncode == 0 and len(om.password_changes) == 1 and len(om.services) == 1
    token = omt(om, tmp_path, "token")
    assert token.returncode == 0 and token.stdout.strip() in om.tokens


@pytest.mark.parametrize("catalog, kind", [("rest", "Rest"), ("hive", "Hive")])
def test_the_server_takes_every_service_the_program_gives_it_as_what_it_is(om, tmp_path, catalog, kind):
    """The services.json the program makes, PUT by omt.py to a stand-in that checks each
    connection as OpenMetadata 1.11.4's schemas do and reads an Iceberg catalog as its
    server does (the first kind of DynamoDB, Glue, Hive, REST that takes its keys)."""
    run = run_program({**stacks("kpow", "analytics", "lineage"), "catalog": catalog})
    services = tmp_path / "services.json"
    services.write_text(run.files("omt-setup")[SERVICES_JSON])
    env = {**os.environ, "OM_API": f"{om.url}/api", "OM_ADMIN_EMAIL": "admin@factorhouse.io",
           "OM_ADMIN_PASSWORD": "admin", "OM_FIRST_PASSWORD": "admin"}
    done = subprocess.run([sys.executable, str(OMT), "setup", str(services)], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert sorted(om.services) == [("databaseServices", "iceberg"), ("databaseServices", "marquez"),
                                   ("databaseServices", "postgres"), ("messagingServices", "kafka")]
    assert om.services[("databaseServices", "iceberg")]["connection"]["config"]["catalogKind"] == kind


def test_a_rest_catalog_of_uri_and_files_alone_would_be_read_as_hive():
    """Why the REST catalog carries an empty credential: without a key Hive's connection
    lacks, OpenMetadata takes it for a Hive metastore."""
    from fake_metadata import catalog_kind
    assert catalog_kind({"uri": "http://rest:8181", "fileSystem": {}}) == "Hive"
    assert catalog_kind({"uri": "http://rest:8181", "credential": {}, "fileSystem": {}}) == "Rest"


def test_a_connection_the_server_refuses_fails_setup_in_one_line(om, tmp_path):
    bad = {"kind": "messagingServices", "body": {"name": "kafka", "serviceType": "Kafka", "connection": {"config": {
        "type": "Kafka", "bootstrapServers": "kafka-1:19092", "schemaRegistryAuth": "x"}}}}
    services = tmp_path / "bad.json"
    services.write_text(json.dumps([bad]))
    env = {**os.environ, "OM_API": f"{om.url}/api", "OM_ADMIN_EMAIL": "admin@factorhouse.io",
           "OM_ADMIN_PASSWORD": "admin", "OM_FIRST_PASSWORD": "admin"}
    done = subprocess.run([sys.executable, str(OMT), "setup", str(services)], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 1 and om.services == {}
    assert done.stderr.startswith("omt: PUT ") and "(kafka) answered 400" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_setup_with_the_first_password_changes_nothing(om, tmp_path):
    assert omt(om, tmp_path, "setup", "SERVICES", password="admin").returncode == 0
    assert om.password_changes == [] and om.password == "admin"


def test_a_password_changed_elsewhere_fails_in_one_line(om, tmp_path):
    om.password = "Changed-in-ui-1"
    result = omt(om, tmp_path, "setup", "SERVICES")
    assert result.returncode == 1 and om.services == {}
    assert result.stderr.strip().splitlines() == [
        "omt: OpenMetadata refuses admin@factorhouse.io's password (openmetadataPassword): it was changed "
        "elsewhere; set openmetadataPassword to the password the server has"]
    assert omt(om, tmp_path, "token").returncode == 1


def test_a_server_that_does_not_answer_fails_in_one_line(tmp_path):
    from types import SimpleNamespace
    dead = SimpleNamespace(url=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    result = omt(dead, tmp_path, "setup", "SERVICES")
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("omt: POST http://127.0.0.1:") and "no answer" in result.stderr


def test_the_login_sends_the_password_base64_encoded(om, tmp_path):
    omt(om, tmp_path, "token", password="admin")
    assert ("POST", "/api/v1/users/login") in om.requests
    assert base64.b64encode(b"admin").decode() == "YWRtaW4="


# -- the Flink connector's declared lineage (the part without OpenMetadata) --------------------

def test_the_declared_lineage_of_a_flink_job():
    import importlib.util
    path = RESOURCES / "metadata/ingestion/connectors/factorhouse_flink/src/factorhouse_flink/lineage_map.py"
    spec = importlib.util.spec_from_file_location("lineage_map", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["lineage_map"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    Edge, edges, parse = module.Edge, module.edges, module.parse
    option = json.dumps({"orders": {"upstream": [{"type": "Topic", "fqn": "kafka.orders"}, {"type": "view"}],
                                    "downstream": [{"type": "table", "fqn": "iceberg.default.db.orders"}]}})
    found, skipped = edges(parse(option), "orders")
    assert found == [Edge("upstream", "topic", "kafka.orders"), Edge("downstream", "table", "iceberg.default.db.orders")]
    assert len(skipped) == 1 and "needs a type of table, topic, pipeline, container and a fqn" in skipped[0]
    assert edges(parse(""), "orders") == ([], []) and edges(parse(option), "other") == ([], [])
    with pytest.raises(ValueError):
        parse("[1, 2]")


# -- the ingestion image, built for real on a locally made base --------------------------------

def test_the_ingestion_image_builds_with_the_connector_installed_as_airflow(base_image, tmp_path):
    """A stand-in for OpenMetadata's ingestion image: busybox, an airflow user of group 0,
    and a pip that records how it was called and what it found."""
    tag = f"fhl-test-omt-base:{uuid.uuid4().hex[:8]}"
    built = f"fhl-test-omt-ingestion:{uuid.uuid4().hex[:8]}"
    ctx = tmp_path / "base"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        f"FROM {base_image}\n"
        'RUN ["/bin/busybox", "mkdir", "-p", "/usr/bin", "/usr/sbin", "/sbin", "/etc"]\n'
        'RUN ["/bin/busybox", "--install", "-s"]\n'
        "RUN echo 'root:x:0:0::/root:/bin/sh' > /etc/passwd && echo 'airflow:x:50000:0::/opt/airflow:/bin/sh' >> /etc/passwd"
        " && echo 'root:x:0:' > /etc/group && mkdir -p /opt/airflow && chown 50000:0 /opt/airflow"
        " && printf '#!/bin/sh\\necho \"$(id -u) $*\" > /opt/airflow/pip-call\\n"
        "for a; do last=$a; done; test -f $last/pyproject.toml && test -f $last/src/factorhouse_flink/source.py\\n'"
        " > /usr/bin/pip && chmod 755 /usr/bin/pip\n"
        "USER airflow\n")
    try:
        docker("build", "--force-rm", "-t", tag, str(ctx), check=True)
        result = subprocess.run([sys.executable, str(PROJECT_DIR / "scripts/build_image.py"), "build", "--context",
                                 str(RESOURCES / "metadata/ingestion"), "--tag", built, "--build-arg",
                                 f"BASE_IMAGE={tag}"], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        seen = docker("run", "--rm", "--network", "none", built, "/bin/sh", "-c",
                      "cat /opt/airflow/pip-call; id -u; stat -c '%u:%g' /opt/factorhouse/connectors/factorhouse_flink",
                      check=True).stdout.split("\n")
        assert seen[0] == "50000 install --no-cache-dir --no-deps --no-build-isolation " \
                          "/opt/factorhouse/connectors/factorhouse_flink"
        assert seen[1:3] == ["50000", "50000:0"]  # it runs as airflow, as the base does
    finally:
        docker("image", "rm", "-f", built, tag)
