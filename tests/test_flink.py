"""The Flink stack of docs/services.md, under mocks."""

import json
import shutil

import pytest
import yaml

from harness import COMMAND, PROJECT_DIR, check_factorhouse_app, fake_id, run_program

RESOURCES = PROJECT_DIR / "resources"
FLINK = {"stacks": json.dumps(["flex", "analytics"])}
FLINK_SERVICES = ["jobmanager", "taskmanager-1", "taskmanager-2", "taskmanager-3", "sql-gateway"]
BUILT = fake_id("built", "build-flink-connectors")


@pytest.fixture(scope="module")
def run():
    return run_program(FLINK)


def test_the_flink_services(run):
    assert {"jobmanager", "taskmanager-1", "taskmanager-2", "taskmanager-3", "sql-gateway", "flex"} <= set(run.containers)


@pytest.mark.parametrize("service", FLINK_SERVICES)
def test_every_flink_container_runs_the_built_image(run, service):
    container = run.container(service)
    # the Flink image built here on PyFlink's Python layer, with the Flink connectors
    # baked in at /tmp/connector
    assert container["image"] == BUILT
    assert run.image_chain(service) == ["build-flink-connectors", "build-flink", "build-pyflink", "flink:1.20.1"]
    assert container["name"] == service
    assert "build-flink-connectors" in run.depends_on(container)
    env = run.env(service)
    assert env["HADOOP_CONF_DIR"] == "/opt/hadoop/etc/hadoop" and env["AWS_REGION"] == "us-east-1"
    # the entrypoint writes this into flink-conf.yaml at every start (default: the host name)
    assert env["JOB_MANAGER_RPC_ADDRESS"] == "jobmanager"
    assert env["AWS_ACCESS_KEY_ID"] == "admin" and env["AWS_SECRET_ACCESS_KEY"] == "password"
    assert run.secret(service, "envs")
    # the configuration files are uploaded: the repository's, as written (with analytics)
    files = run.files(service)
    assert set(files) == {"/opt/flink/conf/flink-conf.yaml", "/opt/flink/conf/sql-client-defaults.yaml"}
    for name in ("flink-conf.yaml", "sql-client-defaults.yaml"):
        assert files[f"/opt/flink/conf/{name}"] == (RESOURCES / "flex/conf" / name).read_text()
    assert run.mounts(service) == {}


def test_the_connectors_are_baked_on_the_flink_image(run):
    bake = run.one(COMMAND, "build-flink-connectors")
    pyflink = run.one(COMMAND, "build-flink")
    download = run.one(COMMAND, "download-flink-connectors")
    assert run.option(bake, "--add") == download["create"].split("--dest ")[1].split()[0] + "=files"
    assert run.build_args(bake) == {"BASE_IMAGE": run.option(pyflink, "--tag"), "TARGET": "/tmp/connector"}
    assert {"build-flink", "download-flink-connectors"} <= run.depends_on(bake)


def test_jobmanager(run):
    jm = run.container("jobmanager")
    assert jm["command"] == ["jobmanager"]
    assert run.ports("jobmanager") == [("127.0.0.1", 8082, 8081)]
    assert jm["healthcheck"] == {"tests": ["CMD", "curl", "-f", "http://localhost:8081/config"],
                                 "interval": "5s", "timeout": "5s", "retries": 5, "startPeriod": "0s"}
    assert jm.replace_on_changes == ["healthcheck"]
    assert run.gate("jobmanager")["create"].endswith(" jobmanager")


@pytest.mark.parametrize("n", [1, 2, 3])
def test_taskmanagers(run, n):
    tm = run.container(f"taskmanager-{n}")
    assert tm["command"] == ["taskmanager"]
    assert run.ports(f"taskmanager-{n}") == []
    assert run.waits_until_healthy(tm, "jobmanager")


def test_sql_gateway(run):
    gw = run.container("sql-gateway")
    assert gw["command"] == [
        "bin/sql-gateway.sh", "start-foreground", "-Dsql-gateway.endpoint.rest.address=0.0.0.0",
        "-Dsql-gateway.endpoint.rest.port=9090", "-Djobmanager.rpc.address=jobmanager", "-Drest.address=jobmanager"]
    assert run.ports("sql-gateway") == [("127.0.0.1", 9090, 9090)]
    env = run.env("sql-gateway")
    assert env["FLINK_SQL_GATEWAY_DEFAULT_CATALOG_NAME"] == "default_catalog"
    assert env["FLINK_SQL_GATEWAY_DEFAULT_DATABASE_NAME"] == "default_database"
    assert run.waits_until_healthy(gw, "jobmanager")


def test_flex_trial(run):
    env = check_factorhouse_app(run, "flex", 3001, waits_for="jobmanager", login=False)
    assert {k: env[k] for k in ("FLINK_REST_URL", "ENVIRONMENT_NAME", "ALLOW_FLINK_SUBMIT", "ALLOW_FLINK_JOB_TERMINATE",
                                "ALLOW_FLINK_JAR_DELETE", "ALLOW_FLINK_JOB_EDIT")} == {
        "FLINK_REST_URL": "http://jobmanager:8081", "ENVIRONMENT_NAME": "Local Flink Cluster",
        "ALLOW_FLINK_SUBMIT": "true", "ALLOW_FLINK_JOB_TERMINATE": "true",
        "ALLOW_FLINK_JAR_DELETE": "true", "ALLOW_FLINK_JOB_EDIT": "true"}


def test_flex_community():
    run = run_program({**FLINK, "edition": "community"})
    assert run.container("flex")["name"] == "flex-ce"
    assert run.image_of("flex") == "factorhouse/flex-ce:latest"
    assert run.files("flex") == {} and "RBAC_CONFIGURATION_FILE" not in run.env("flex")
    assert run.env("flex")["FLINK_REST_URL"] == "http://jobmanager:8081"


def test_flink_configuration_facts():
    conf = yaml.safe_load((RESOURCES / "flex/conf/flink-conf.yaml").read_text())
    assert {k: conf[k] for k in (
        "jobmanager.rpc.address", "jobmanager.memory.process.size", "taskmanager.memory.process.size",
        "taskmanager.numberOfTaskSlots", "state.backend", "state.checkpoints.dir", "state.savepoints.dir",
        "heartbeat.interval", "heartbeat.timeout", "rest.port", "rest.bind-address", "rest.flamegraph.enabled",
        "web.backpressure.refresh-interval", "fs.s3a.endpoint", "fs.s3a.path.style.access",
        "sql.catalog.demo.uri", "sql.catalog.demo.io-impl", "sql.catalog.demo.s3.endpoint",
        "sql.catalog.demo.s3.path-style-access", "sql.default-catalog", "security.context.factory")} == {
        "jobmanager.rpc.address": "jobmanager", "jobmanager.memory.process.size": "1024m",
        "taskmanager.memory.process.size": "1024m", "taskmanager.numberOfTaskSlots": 5,
        "state.backend": "filesystem", "state.checkpoints.dir": "file:///tmp/flink-checkpoints",
        "state.savepoints.dir": "file:///tmp/flink-savepoints", "heartbeat.interval": 1000,
        "heartbeat.timeout": 5000, "rest.port": 8081, "rest.bind-address": "0.0.0.0",
        "rest.flamegraph.enabled": True, "web.backpressure.refresh-interval": 10000,
        "fs.s3a.endpoint": "http://minio:9000", "fs.s3a.path.style.access": True,
        "sql.catalog.demo.uri": "http://rest:8181", "sql.catalog.demo.io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
        "sql.catalog.demo.s3.endpoint": "http://minio:9000", "sql.catalog.demo.s3.path-style-access": True,
        "sql.default-catalog": "demo",
        "security.context.factory": "org.apache.flink.runtime.security.contexts.NoOpSecurityContextFactory"}
    # credentials are not written in a file: they come from the settings, as env
    assert not any("secret" in k or "access.key" in k or "access-key" in k for k in conf)
    sql = yaml.safe_load((RESOURCES / "flex/conf/sql-client-defaults.yaml").read_text())
    assert sql["catalogs"][0]["name"] == "demo" and sql["execution"]["default-catalog"] == "demo"


def test_without_analytics_flink_has_no_iceberg_catalog_or_minio(run):
    alone = run_program({"stacks": json.dumps(["flex"])})
    files = alone.files("jobmanager")
    conf = yaml.safe_load(files["/opt/flink/conf/flink-conf.yaml"])
    assert not any(k.startswith(("fs.s3a.", "sql.")) for k in conf)
    assert conf["jobmanager.rpc.address"] == "jobmanager" and conf["rest.port"] == 8081
    sql = yaml.safe_load(files["/opt/flink/conf/sql-client-defaults.yaml"])
    assert "catalogs" not in sql and "default-catalog" not in sql["execution"]
    assert "AWS_SECRET_ACCESS_KEY" not in alone.env("jobmanager")
    # another content: the containers are replaced when analytics comes or goes
    assert alone.files("taskmanager-1") != run.files("taskmanager-1")


@pytest.mark.parametrize("stacks", [["flex"], ["flex", "analytics"]])
def test_the_prometheus_reporter_is_on_in_every_flink_container_whatever_runs(stacks):
    # as upstream's flink-conf.yaml: port 9249, the reporter's factory; on whether or not
    # the telemetry stack runs, so that adding it never restarts the Flink cluster
    run = run_program({"stacks": json.dumps(stacks)})
    with_telemetry = run_program({"stacks": json.dumps(stacks + ["telemetry"])})
    for service in FLINK_SERVICES:
        conf = yaml.safe_load(run.files(service)["/opt/flink/conf/flink-conf.yaml"])
        assert {k: v for k, v in conf.items() if k.startswith("metrics.")} == {
            "metrics.reporters": "prom",
            "metrics.reporter.prom.factory.class": "org.apache.flink.metrics.prometheus.PrometheusReporterFactory",
            "metrics.reporter.prom.port": 9249}
        assert with_telemetry.container(service)["image"] == run.container(service)["image"]
        assert with_telemetry.files(service) == run.files(service)
        assert with_telemetry.env(service) == run.env(service)


def test_both_flink_images_carry_the_reporter_plugin():
    # one Dockerfile for the Flink layer of both images (pyflink true and false): the
    # distribution's plugin folder, or the jar of opt/ enabled as a plugin, or no image
    flink = (RESOURCES / "flex/flink/Dockerfile").read_text()
    step = flink.split("RUN ls /opt/flink/plugins/metrics-prometheus/flink-metrics-prometheus-*.jar", 1)[1]
    assert 'cp "/opt/flink/opt/flink-metrics-prometheus-${FLINK_VERSION}.jar" /opt/flink/plugins/metrics-prometheus/' in step
    for pyflink in ("true", "false"):
        run = run_program({**FLINK, "pyflink": pyflink})
        assert run.option(run.one(COMMAND, "build-flink"), "--context") == str(RESOURCES / "flex/flink")
        assert "build-flink" in run.image_chain("taskmanager-1")


def test_the_build_steps(run):
    python, build = run.one(COMMAND, "build-pyflink"), run.one(COMMAND, "build-flink")
    jars = run.one(COMMAND, "download-pyflink-jars")
    # the Python layer on the base image, then the Flink image (jars, S3, Hadoop) on it
    assert run.option(python, "--context") == str(RESOURCES / "flex/pyflink")
    assert run.option(python, "--tag").startswith("factorhouse/pyflink:")
    assert run.build_args(python) == {"BASE_IMAGE": "flink:1.20.1", "FLINK_VERSION": "1.20.1"}
    assert "--add" not in python["create"]
    assert run.option(build, "--context") == str(RESOURCES / "flex/flink")
    assert run.option(build, "--tag").startswith("factorhouse/flink:")
    assert run.build_args(build) == {"BASE_IMAGE": run.option(python, "--tag"), "FLINK_VERSION": "1.20.1"}
    jar_folder = jars["create"].split("--dest ")[1].split()[0]
    assert run.option(build, "--add") == f"{jar_folder}=jars"
    for step in (python, build):
        assert step["delete"] == f"python3 scripts/build_image.py remove {run.option(step, '--tag')}"
        assert step["dir"] == str(PROJECT_DIR)
        assert step["triggers"] == [run.option(step, "--tag")]
        assert step.delete_before_replace
    # the base image is pulled first (once), then built on, layer by layer
    assert "image-flink-1.20.1" in run.depends_on(python)
    assert {"download-pyflink-jars", "build-pyflink"} <= run.depends_on(build)


def tag_with(tmp_path, monkeypatch, edit=None, step="build-flink"):
    import stacks.flink as flink
    copy = tmp_path / "resources"
    if not copy.exists():
        shutil.copytree(RESOURCES, copy)
    if edit:
        edit(copy)
    monkeypatch.setattr(flink, "RESOURCES", copy)
    return run_program(FLINK).one(COMMAND, step)["triggers"]


def test_the_tag_follows_the_context_and_nothing_else(tmp_path, monkeypatch):
    first, python = tag_with(tmp_path, monkeypatch), tag_with(tmp_path, monkeypatch, step="build-pyflink")
    assert tag_with(tmp_path, monkeypatch) == first  # unchanged: no rebuild
    changed = tag_with(tmp_path, monkeypatch, lambda r: (r / "flex/flink/Dockerfile").write_text("FROM x\n"))
    assert changed != first
    assert tag_with(tmp_path, monkeypatch, step="build-pyflink") == python  # the Python layer stays
    other = tag_with(tmp_path, monkeypatch, lambda r: (r / "flex/flink/core-site.xml").write_text("<x/>"))
    assert other != changed
    # a new Python layer rebuilds the Flink image on it
    layered = tag_with(tmp_path, monkeypatch, lambda r: (r / "flex/pyflink/Dockerfile").write_text("FROM y\n"))
    assert layered != other and tag_with(tmp_path, monkeypatch, step="build-pyflink") != python


def test_the_tag_follows_the_base_image_and_the_jars(monkeypatch):
    base = run_program(FLINK).one(COMMAND, "build-flink")["triggers"]
    other = run_program({**FLINK, "images": json.dumps({"flink": "registry.local/flink:1.20.1"})})
    assert other.one(COMMAND, "build-flink")["triggers"] != base
    # and a new base rebuilds what is baked on it
    assert (other.one(COMMAND, "build-flink-connectors")["triggers"]
            != run_program(FLINK).one(COMMAND, "build-flink-connectors")["triggers"])


def test_the_dockerfiles_say_what_the_service_facts_say():
    python = (RESOURCES / "flex/pyflink/Dockerfile").read_text()
    flink = (RESOURCES / "flex/flink/Dockerfile").read_text()
    for dockerfile in (python, flink):
        assert "ARG BASE_IMAGE=flink:1.20.1" in dockerfile and "FROM ${BASE_IMAGE}" in dockerfile
        code = [l for l in dockerfile.splitlines() if not l.startswith("#")]
        assert not any("http" in l or "wget" in l or "curl -" in l for l in code)  # no download in the build
    packages = python.split("apt-get install -y --no-install-recommends", 1)[1].split("&&", 1)[0].split()
    # curl: the health check; build-essential and a JDK with headers: pip compiles
    # apache-flink and pemja where no wheel fits (arm64)
    assert {"python3", "python3-pip", "python3-dev", "curl", "build-essential", "openjdk-11-jdk-headless"} <= set(packages)
    assert 'JAVA_HOME="$(dirname "$(dirname "$(readlink -f /usr/bin/javac)")")"' in python
    # what the containers run is the base image's Java: JAVA_HOME and PATH are not changed
    assert not any(line.startswith("ENV") and ("JAVA_HOME" in line or "PATH" in line) for line in python.splitlines())
    assert "ln -sf /usr/bin/python3 /usr/bin/python" in python
    assert 'pip3 install --no-cache-dir "apache-flink==${FLINK_VERSION}"' in python
    assert '/opt/flink/opt/flink-s3-fs-${fs}-${FLINK_VERSION}.jar' in flink and "for fs in hadoop presto" in flink
    assert "COPY core-site.xml /opt/hadoop/etc/hadoop/core-site.xml" in flink
    assert "COPY jars/ /opt/flink/lib/" in flink
    assert "command -v curl" in flink  # the health check's, whatever the base
    assert "<value>file:///</value>" in (RESOURCES / "flex/flink/core-site.xml").read_text()


def test_outputs(run):
    assert {k: run.outputs[k] for k in ("flexUrl", "flinkUiUrl", "sqlGatewayUrl")} == {
        "flexUrl": "http://127.0.0.1:3001", "flinkUiUrl": "http://127.0.0.1:8082", "sqlGatewayUrl": "http://127.0.0.1:9090"}
