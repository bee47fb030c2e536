"""The analytics stack of docs/services.md, under mocks."""

import json

import pytest

from harness import CONTAINER, PROJECT_DIR, resource_files, run_program

RESOURCES = PROJECT_DIR / "resources"
ANALYTICS = {"stacks": json.dumps(["analytics"])}


@pytest.fixture(scope="module")
def run():
    return run_program(ANALYTICS)


def test_only_the_analytics_services(run):
    assert set(run.containers) == {"spark-iceberg", "rest", "minio", "mc", "postgres"}


@pytest.mark.parametrize("service, image, container, ports", [
    ("spark-iceberg", "tabulario/spark-iceberg:3.5.5_1.8.1", "spark-iceberg",
     [("127.0.0.1", 8888, 8888), ("127.0.0.1", 8080, 8080)]),
    ("rest", "apache/iceberg-rest-fixture", "iceberg-rest", [("127.0.0.1", 8181, 8181)]),
    ("minio", "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z", "minio",
     [("127.0.0.1", 9000, 9000), ("127.0.0.1", 9001, 9001)]),
    ("mc", "quay.io/minio/mc", "mc", []),
    ("postgres", "postgres:17", "postgres", [("127.0.0.1", 5432, 5432)]),
])
def test_image_container_and_ports(run, service, image, container, ports):
    assert run.image_of(service) == image
    assert run.container(service)["name"] == container
    assert run.ports(service) == ports


def test_thrift_ports_only_when_asked_for():
    run = run_program({**ANALYTICS, "sparkThriftPorts": "true"})
    assert run.ports("spark-iceberg")[2:] == [("127.0.0.1", 10000, 10000), ("127.0.0.1", 10001, 10001)]
    assert run.outputs["sparkThriftUrl"] == "jdbc:hive2://127.0.0.1:10000"


def test_spark(run):
    env = run.env("spark-iceberg")
    assert env == {"AWS_ACCESS_KEY_ID": "admin", "AWS_SECRET_ACCESS_KEY": "password", "AWS_REGION": "us-east-1"}
    assert run.secret("spark-iceberg", "envs")
    assert run.files("spark-iceberg") == {f"/opt/spark/conf/{n}": t for n, t in resource_files("analytics/spark").items()}
    spark = run.container("spark-iceberg")
    assert "rest" in run.depends_on(spark) and run.waits_until_healthy(spark, "minio")


def test_spark_defaults():
    lines = [l.split(None, 1) for l in (RESOURCES / "analytics/spark/spark-defaults.conf").read_text().splitlines()
             if l.strip() and not l.startswith("#")]
    conf = {k: v.strip() for k, v in lines}
    assert conf["spark.sql.extensions"] == "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
    assert conf["spark.sql.catalog.demo"] == "org.apache.iceberg.spark.SparkCatalog"
    assert conf["spark.sql.catalog.demo.type"] == "rest"
    assert conf["spark.sql.catalog.demo.uri"] == "http://rest:8181"
    assert conf["spark.sql.catalog.demo.io-impl"] == "org.apache.iceberg.aws.s3.S3FileIO"
    assert conf["spark.sql.catalog.demo.s3.endpoint"] == "http://minio:9000"
    assert conf["spark.sql.catalog.demo.s3.path-style-access"] == "true"
    assert conf["spark.sql.defaultCatalog"] == "demo"
    assert conf["spark.eventLog.enabled"] == "true" and conf["spark.eventLog.dir"] == "/home/iceberg/spark-events"
    assert conf["spark.sql.catalogImplementation"] == "in-memory"


def test_iceberg_rest(run):
    assert run.env("rest") == {
        "AWS_ACCESS_KEY_ID": "admin", "AWS_SECRET_ACCESS_KEY": "password", "AWS_REGION": "us-east-1",
        "CATALOG_WAREHOUSE": "s3://warehouse/", "CATALOG_IO__IMPL": "org.apache.iceberg.aws.s3.S3FileIO",
        "CATALOG_S3_ENDPOINT": "http://minio:9000", "CATALOG_S3_PATH__STYLE__ACCESS": "true", "AWS_CBOR_DISABLE": "true"}
    assert run.secret("rest", "envs")


def test_minio(run):
    minio = run.container("minio")
    assert minio["command"] == ["server", "/data", "--console-address", ":9001"]
    assert run.env("minio") == {"MINIO_ROOT_USER": "admin", "MINIO_ROOT_PASSWORD": "password", "MINIO_DOMAIN": "minio"}
    assert run.secret("minio", "envs")
    assert run.mounts("minio")["/data"]["volumeName"] == "minio-data"
    # docs/services.md: every 5 s, timeout 5 s, 12 retries
    assert minio["healthcheck"] == {"tests": ["CMD", "mc", "ready", "local"], "interval": "5s", "timeout": "5s",
                                    "retries": 12, "startPeriod": "0s"}
    assert run.gate("minio")["create"].endswith(" minio")


def test_bucket_setup_runs_once_after_minio_is_healthy_and_deletes_nothing(run):
    mc = run.container("mc")
    assert mc["mustRun"] is False  # a one-off: exits, and is not restarted or re-created
    assert mc.get("restart") == "no"
    assert mc["entrypoints"] == ["/bin/sh", "/setup/create-buckets.sh"]
    assert run.files("mc") == {"/setup/create-buckets.sh": (RESOURCES / "analytics/minio/create-buckets.sh").read_text()}
    env = run.env("mc")
    assert env["BUCKETS"] == "warehouse factorhouse" and env["MINIO_URL"] == "http://minio:9000"
    assert env["MINIO_ROOT_USER"] == "admin" and env["MINIO_ROOT_PASSWORD"] == "password"
    assert run.secret("mc", "envs")
    assert run.waits_until_healthy(mc, "minio")
    # `pulumi up` waits for it to finish, and the catalog and Spark start once it has
    assert mc["attach"] is True and mc["logs"] is True
    assert "mc" in run.depends_on(run.container("rest")) and "mc" in run.depends_on(run.container("spark-iceberg"))
    assert run.errors == []
    script = (RESOURCES / "analytics/minio/create-buckets.sh").read_text()
    code = [l for l in script.splitlines() if not l.lstrip().startswith("#")]
    for forbidden in (" rb ", " rm ", "--force", "--dangerous", "remove"):
        assert not any(forbidden in f" {l} " for l in code), forbidden


LOG = "Added `platform` successfully.\nmc: <ERROR> Unable to make bucket `platform/warehouse`.\n" \
      "Access Denied.\n"


@pytest.mark.parametrize("code, logs, said", [
    (3, LOG, "its log ends: Added `platform` successfully. / mc: <ERROR> Unable to make bucket "
             "`platform/warehouse`. / Access Denied."),
    (None, "", "it logged nothing (`docker logs alice-mc`)"),
])
def test_a_failed_bucket_setup_fails_pulumi_up_and_nothing_that_needs_it_is_made(code, logs, said):
    with pytest.raises(Exception) as failed:
        run_program({**ANALYTICS, "namePrefix": "alice-"}, exit_codes={"mc": code}, logs={"mc": logs})
    status = "exited with code 3" if code else "did not report an exit code"
    assert str(failed.value) == (f"alice-mc {status}; {said}. Fix the cause and run `make up` again, which runs "
                                 "alice-mc again (with plain pulumi: `docker rm alice-mc`, then `pulumi up --refresh`)")
    assert type(failed.value).__name__ == "OneShotFailed"  # a RunError: no traceback
    made = {r.name for r in failed.value.registrations if r.type == CONTAINER}
    assert "mc" in made and "minio" in made and "postgres" in made
    assert not made & {"rest", "spark-iceberg"}


def test_a_one_shots_log_as_docker_frames_it_reads_as_plain_lines():
    from engines.docker import log_lines

    def frame(stream: int, text: str) -> str:
        return bytes([stream, 0, 0, 0]).decode() + len(text).to_bytes(4, "big").decode("latin-1") + text
    logs = frame(1, "Added `platform` successfully.\n") + frame(2, "mc: <ERROR> Access Denied.\n")
    assert log_lines(logs) == ["Added `platform` successfully.", "mc: <ERROR> Access Denied."]
    assert log_lines("plain\r\nlines\x1b[0m\n") == ["plain", "lines[0m"]


def test_after_a_clean_bucket_setup_what_needs_it_is_made(run):
    labels = {l["label"]: l["value"] for l in run.container("rest")["labels"]}
    assert labels["dev.factorhouse.local.after"] == "mc"
    for name in ("rest", "spark-iceberg"):
        assert run.container(name)


def test_bucket_setup_reruns_when_the_bucket_list_or_minio_changes(run, monkeypatch):
    import stacks.analytics as analytics
    monkeypatch.setattr(analytics, "BUCKETS", ("warehouse", "factorhouse", "extra"))
    changed = run_program(ANALYTICS)
    assert changed.env("mc")["BUCKETS"] == "warehouse factorhouse extra"  # envs replace the container
    labels = {l["label"]: l["value"] for l in run.container("mc")["labels"]}
    assert labels["dev.factorhouse.local.replace-when"] == "minio-id"  # minio's container id


def test_postgres(run):
    pg = run.container("postgres")
    assert pg["command"] == ["postgres", "-c", "wal_level=logical"]
    assert run.env("postgres") == {"POSTGRES_DB": "factorhouse", "POSTGRES_USER": "db_user",
                                   "POSTGRES_PASSWORD": "db_password", "PGUSER": "db_user", "TZ": "UTC"}
    assert run.secret("postgres", "envs")
    assert run.files("postgres") == {f"/docker-entrypoint-initdb.d/{n}": t
                                     for n, t in resource_files("analytics/postgres").items()}
    assert run.mounts("postgres")["/var/lib/postgresql/data"]["volumeName"] == "postgres-data"


def test_postgres_init_sql():
    sql = " ".join((RESOURCES / "analytics/postgres/01-dev-schema.sql").read_text().split())
    assert "CREATE SCHEMA IF NOT EXISTS dev;" in sql
    assert "GRANT ALL ON SCHEMA dev TO db_user;" in sql
    assert "ALTER DATABASE factorhouse SET search_path TO dev;" in sql
    assert "CREATE PUBLICATION cdc_pub FOR TABLES IN SCHEMA dev;" in sql


def test_credentials_come_from_settings_and_stay_secret():
    run = run_program({"stacks": json.dumps(["flex", "analytics"]), "minioUser": "lake", "minioPassword": "s3cret-pw",
                       "postgresPassword": "pg-pw"}, secret_keys=("minioPassword", "postgresPassword"))
    for service in ("spark-iceberg", "rest", "jobmanager", "taskmanager-1", "sql-gateway"):
        assert run.env(service)["AWS_ACCESS_KEY_ID"] == "lake"
        assert run.env(service)["AWS_SECRET_ACCESS_KEY"] == "s3cret-pw"
        assert run.secret(service, "envs")
    assert run.env("minio")["MINIO_ROOT_PASSWORD"] == run.env("mc")["MINIO_ROOT_PASSWORD"] == "s3cret-pw"
    assert run.env("postgres")["POSTGRES_PASSWORD"] == "pg-pw"
    assert run.outputs["postgresDsn"] == "postgresql://db_user:pg-pw@127.0.0.1:5432/factorhouse"


def test_the_postgres_dsn_output_is_secret():
    import pulumi
    from pulumi.runtime.settings import get_root_resource
    run_program(ANALYTICS)
    dsn = get_root_resource().outputs["postgresDsn"]
    assert pulumi.runtime.sync_await._sync_await(dsn.is_secret())


def test_data_volumes(run):
    volumes = run.of_type("docker:index/volume:Volume")
    assert {v["name"] for v in volumes} == {"minio-data", "postgres-data"}
    assert all(v.retain_on_delete for v in volumes)


def test_outputs(run):
    assert {k: run.outputs[k] for k in ("jupyterUrl", "sparkUiUrl", "minioApiUrl", "minioConsoleUrl", "postgresDsn")} == {
        "jupyterUrl": "http://127.0.0.1:8888", "sparkUiUrl": "http://127.0.0.1:8080",
        "minioApiUrl": "http://127.0.0.1:9000", "minioConsoleUrl": "http://127.0.0.1:9001",
        "postgresDsn": "postgresql://db_user:db_password@127.0.0.1:5432/factorhouse"}
