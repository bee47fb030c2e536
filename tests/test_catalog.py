"""The `catalog` setting, under mocks: the Iceberg REST catalog (the default, the seed's)
or the Hive Metastore as upstream runs it today (docs/services.md, "The Hive
Metastore"), on both engines, with each Kafka mode and Flink image: what each container
runs, its ports, files, data, health and order; no setting of one catalog reaches Flink
or Spark with the other; the two never share data; credentials stay secret."""

import itertools
import json
import xml.etree.ElementTree as ElementTree

import kubernetes_validate
import pytest
import yaml

from harness import COMMAND, PROJECT_DIR, VOLUME, resource_files, run_program
from settings import SettingsError
from test_kubernetes import K8S, PASSWORDS, VERSIONS, Pods, docker_view, kubernetes_view, manifests, same_dependencies

RESOURCES = PROJECT_DIR / "resources"
HIVE = {"catalog": "hive"}
FLINK = ("jobmanager", "taskmanager-1", "taskmanager-2", "taskmanager-3", "sql-gateway")
HIVE_ONLY = {"hive-metastore", "metastore-db"}
SPARK_JARS = ["iceberg-spark-runtime-3.5_2.12-1.8.1.jar", "iceberg-aws-bundle-1.8.1.jar", "hadoop-aws-3.3.6.jar",
              "aws-java-sdk-bundle-1.11.1026.jar", "hadoop-common-3.3.6.jar"]


@pytest.fixture(scope="module")
def rest():
    return run_program()


@pytest.fixture(scope="module")
def hive():
    return run_program(HIVE)


def properties(xml: str) -> dict[str, str]:
    """A Hadoop configuration file's properties."""
    return {p.findtext("name"): p.findtext("value") for p in ElementTree.fromstring(xml).iter("property")}


def conf_lines(text: str) -> dict[str, str]:
    """A Spark properties file's settings."""
    return dict(line.split(None, 1) for line in text.splitlines() if line.strip() and not line.startswith("#"))


def everything(run, name: str) -> str:
    """All a container is given (settings and files), as one text to search."""
    return json.dumps([run.env(name), run.files(name), run.container(name).get("command"),
                       run.container(name).get("entrypoints")])


# -- the setting ---------------------------------------------------------------------------

def test_the_rest_catalog_is_the_default_and_declared_as_the_choice_between_the_two():
    declared = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]["catalog"]
    assert declared["default"] == "rest" and declared["type"] == "string"
    assert "Iceberg REST catalog and the Hive Metastore" in declared["description"]
    from plan import plan
    assert plan(run_program({"catalog": "rest"})) == plan(run_program())


@pytest.mark.parametrize("config, lines", [
    ({"catalog": "glue"}, ["invalid config catalog: 'glue' is not allowed; use one of rest, hive"]),
    ({**HIVE, "stacks": json.dumps(["kpow", "flex"])},
     ["invalid config catalog: 'hive' needs the analytics stack (the metastore runs there, on its Postgres and "
      "MinIO); add analytics to stacks, or set catalog rest"]),
    ({**HIVE, "sparkThriftPorts": "true"},
     ["invalid config sparkThriftPorts: true has no meaning with catalog hive (its Spark runs the history server, "
      "no Thrift server); remove it with `pulumi config rm sparkThriftPorts`"]),
    ({**HIVE, "stacks": json.dumps(["flex"]), "sparkThriftPorts": "true"},
     ["invalid config catalog: 'hive' needs the analytics stack (the metastore runs there, on its Postgres and "
      "MinIO); add analytics to stacks, or set catalog rest",
      "invalid config sparkThriftPorts: true has no meaning with catalog hive (its Spark runs the history server, "
      "no Thrift server); remove it with `pulumi config rm sparkThriftPorts`"]),
])
def test_what_the_hive_catalog_needs_is_checked_before_anything_is_made(config, lines):
    with pytest.raises(SettingsError) as caught:
        run_program(config)
    assert str(caught.value).splitlines() == lines
    assert caught.value.registrations == []


# -- the REST catalog: as the seed, nothing of the metastore ---------------------------------

def test_with_the_rest_catalog_nothing_of_the_metastore_runs_or_reaches_flink_and_spark(rest):
    assert not HIVE_ONLY & set(rest.containers)
    assert {"rest", "spark-iceberg"} <= set(rest.containers)
    for name in rest.containers:
        given = everything(rest, name)
        for word in ("hive", "thrift://", "9083", "HIVE_CONF_DIR", "metastore"):
            assert word not in given, (name, word)
    for name in FLINK:
        assert set(rest.files(name)) == {"/opt/flink/conf/flink-conf.yaml", "/opt/flink/conf/sql-client-defaults.yaml"}
        assert rest.env(name)["HADOOP_CONF_DIR"] == "/opt/hadoop/etc/hadoop"
        assert "build-flink-hive-jars" not in rest.image_chain(name)
    assert rest.depends_on(rest.container("jobmanager")) == {"network", "build-flink-connectors"}
    assert "healthcheck" not in rest.container("postgres").inputs
    assert not [r for r in rest.of_type(COMMAND) if "hive" in r.name]
    assert rest.env("mc")["BUCKETS"] == "warehouse factorhouse"
    assert {"jupyterUrl", "icebergRestUrl"} <= set(rest.outputs) and "hiveMetastoreUri" not in rest.outputs


# -- the Hive Metastore ---------------------------------------------------------------------

def test_with_the_metastore_its_services_replace_the_rest_catalogs(rest, hive):
    assert set(hive.containers) == set(rest.containers) - {"rest"} | HIVE_ONLY
    assert hive.outputs["summary"].endswith(
        "analytics: minio, mc, postgres, metastore-db, hive-metastore, spark-iceberg; "
        "pinot: pinot-controller, pinot-broker, pinot-server")
    assert {k: hive.outputs[k] for k in ("hiveMetastoreUri", "sparkUiUrl", "sparkHistoryUrl")} == {
        "hiveMetastoreUri": "thrift://127.0.0.1:9083", "sparkUiUrl": "http://127.0.0.1:4040",
        "sparkHistoryUrl": "http://127.0.0.1:18080"}
    assert not {"jupyterUrl", "icebergRestUrl", "sparkThriftUrl"} & set(hive.outputs)
    moved = run_program({**HIVE, "portOffset": "100"}).outputs
    assert moved["hiveMetastoreUri"] == "thrift://127.0.0.1:9183" and moved["sparkHistoryUrl"].endswith(":18180")


def test_postgres_answers_before_the_metastores_database_is_made_in_it(hive):
    pg = hive.container("postgres")
    # upstream's check, over TCP: the image's first-start server listens on its socket only
    assert pg["healthcheck"] == {"tests": ["CMD", "pg_isready", "-h", "127.0.0.1", "-U", "db_user", "-d", "factorhouse"],
                                 "interval": "2s", "timeout": "2s", "retries": 10, "startPeriod": "3s"}
    assert hive.mounts("postgres")["/var/lib/postgresql/data"]["volumeName"] == "postgres-data"
    db = hive.container("metastore-db")
    assert hive.image_of("metastore-db") == "postgres:17" and db["name"] == "metastore-db"
    assert db["command"] == ["psql", "-v", "ON_ERROR_STOP=1", "-f", "/setup/metastore-database.sql"]
    assert hive.files("metastore-db") == {
        "/setup/metastore-database.sql": (RESOURCES / "analytics/hive/metastore-database.sql").read_text()}
    assert hive.env("metastore-db") == {"PGHOST": "postgres", "PGUSER": "db_user", "PGDATABASE": "factorhouse",
                                        "PGPASSWORD": "db_password"}
    assert hive.secret("metastore-db", "envs")
    assert db["attach"] is True and db["mustRun"] is False and hive.ports("metastore-db") == []
    assert hive.waits_until_healthy(db, "postgres")
    # run again on every new Postgres container (a new data folder lacks the database)
    labels = {label["label"]: label["value"] for label in db["labels"]}
    assert labels["dev.factorhouse.local.replace-when"] == "postgres-id"


def test_the_metastore_is_upstreams_on_its_own_database(hive):
    hms = hive.container("hive-metastore")
    assert hms["name"] == "hive-metastore"
    assert hive.image_chain("hive-metastore") == ["build-hive-metastore-jars", "apache/hive:3.1.3"]
    assert hive.ports("hive-metastore") == [("127.0.0.1", 9083, 9083)]
    assert hms["entrypoints"] == ["bash", "/setup/start-metastore.sh"]
    assert hive.env("hive-metastore") == {
        "SERVICE_NAME": "metastore", "DB_DRIVER": "postgres", "METASTORE_PORT": "9083",
        "AWS_ACCESS_KEY_ID": "admin", "AWS_SECRET_ACCESS_KEY": "password", "AWS_REGION": "us-east-1"}
    assert hms["healthcheck"] == {"tests": ["CMD", "bash", "-c", "exec 3<>/dev/tcp/localhost/9083"],
                                  "interval": "2s", "timeout": "2s", "retries": 10, "startPeriod": "3s"}
    assert hms["restart"] == "unless-stopped" and hms.replace_on_changes == ["healthcheck"]
    assert hive.mounts("hive-metastore") == {}  # its data is the database, in Postgres's kept volume
    files = hive.files("hive-metastore")
    assert files["/opt/hive/conf/core-site.xml"] == (RESOURCES / "analytics/hive/core-site.xml").read_text()
    assert files["/setup/start-metastore.sh"] == (RESOURCES / "analytics/hive/start-metastore.sh").read_text()
    site = properties(files["/opt/hive/conf/hive-site.xml"])
    assert site == {
        "javax.jdo.option.ConnectionURL": "jdbc:postgresql://postgres:5432/metastore",
        "javax.jdo.option.ConnectionDriverName": "org.postgresql.Driver",
        "javax.jdo.option.ConnectionUserName": "db_user", "javax.jdo.option.ConnectionPassword": "db_password",
        "datanucleus.autoCreateSchema": "false", "datanucleus.fixedDatastore": "true",
        "datanucleus.autoStartMechanismMode": "checked", "hive.metastore.warehouse.dir": "s3a://hive-warehouse/"}
    # once its database is made, Postgres answers and the warehouse bucket exists
    depends = hive.depends_on(hms)
    assert {"postgres-healthy", "metastore-db", "minio-healthy", "mc"} <= depends
    labels = {label["label"]: label["value"] for label in hms["labels"]}
    assert labels["dev.factorhouse.local.after"] == "mc,metastore-db"
    assert labels["dev.factorhouse.local.replace-when"] == "metastore-db-id"


def test_the_metastores_jars_and_sparks_are_downloaded_verified_and_baked_in(hive):
    for group, service, target, names in (
            ("hive-metastore-jars", "hive-metastore", "/opt/hive/lib",
             ["postgresql-42.7.3.jar", "hadoop-common-3.3.6.jar", "hadoop-auth-3.3.6.jar", "hadoop-aws-3.3.6.jar",
              "aws-java-sdk-bundle-1.11.1026.jar", "hadoop-shaded-guava-1.1.1.jar"]),
            ("spark-hive-jars", "spark-iceberg", "/opt/spark/jars", SPARK_JARS),
            ("flink-hive-jars", "jobmanager", "/opt/flink/lib",
             ["flink-connector-hive_2.12-1.20.1.jar", "hive-exec-3.1.0.jar", "libfb303-0.9.3.jar",
              "antlr-runtime-3.5.2.jar"])):
        step = hive.one(COMMAND, f"download-{group}")
        artifacts = json.loads(step["stdin"])["artifacts"]
        assert [a["dest"] for a in artifacts] == names, group
        # every one from Maven Central, checked against the .sha1 beside it
        assert all(a["url"].startswith("https://repo1.maven.org/maven2/") and a["sha1_sidecar"] for a in artifacts)
        bake = hive.one(COMMAND, f"build-{group}")
        assert hive.build_args(bake)["TARGET"] == target
        assert f"download-{group}" in hive.depends_on(bake)
        assert hive.image_chain(service)[0] == f"build-{group}"


def test_spark_is_upstreams_apache_spark_with_its_history_server_on_the_metastore(hive):
    spark = hive.container("spark-iceberg")
    assert hive.image_chain("spark-iceberg") == ["build-spark-hive-jars", "apache/spark:3.5.5-java17-python3"]
    assert spark["name"] == "spark-iceberg"
    assert hive.ports("spark-iceberg") == [("127.0.0.1", 4040, 4040), ("127.0.0.1", 18080, 18080)]
    assert spark["command"] == ["bash", "-c", "mkdir -p /tmp/spark-events && exec /opt/spark/bin/spark-class "
                                "org.apache.spark.deploy.history.HistoryServer --properties-file "
                                "/tmp/spark-defaults-history.conf"]
    assert hive.env("spark-iceberg") == {"SPARK_NO_DAEMONIZE": "true", "AWS_ACCESS_KEY_ID": "admin",
                                         "AWS_SECRET_ACCESS_KEY": "password", "AWS_REGION": "us-east-1"}
    assert hive.secret("spark-iceberg", "envs")
    hive_files = resource_files("analytics/hive")
    assert hive.files("spark-iceberg") == {
        "/opt/spark/conf/spark-defaults.conf": hive_files["spark-defaults.conf"],
        "/tmp/spark-defaults-history.conf": hive_files["spark-history.conf"],
        "/opt/spark/conf/log4j2.properties": (RESOURCES / "analytics/spark/log4j2.properties").read_text(),
        "/opt/spark/conf/hive-site.xml": hive_files["hive-site.xml"],
        "/opt/spark/conf/core-site.xml": hive_files["core-site.xml"]}
    assert hive.waits_until_healthy(spark, "hive-metastore") and hive.waits_until_healthy(spark, "minio")
    conf = conf_lines(hive_files["spark-defaults.conf"])
    assert conf["spark.sql.extensions"] == "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
    for catalog in ("demo_hv", "demo_ib"):
        assert conf[f"spark.sql.catalog.{catalog}"] == "org.apache.iceberg.spark.SparkCatalog"
        assert conf[f"spark.sql.catalog.{catalog}.type"] == "hive"
        assert conf[f"spark.sql.catalog.{catalog}.warehouse"] == "s3a://hive-warehouse/"
    assert conf["spark.sql.catalog.demo_hv.hive.metastore.uris"] == conf["spark.sql.catalog.demo_ib.uri"] == \
        "thrift://hive-metastore:9083"
    assert conf["spark.sql.catalog.demo_ib.io-impl"] == "org.apache.iceberg.aws.s3.S3FileIO"
    assert conf["spark.sql.catalog.demo_ib.s3.endpoint"] == "http://minio:9000"
    assert conf["spark.sql.defaultCatalog"] == "spark_catalog"
    history = conf_lines(hive_files["spark-history.conf"])
    assert history["spark.history.fs.logDirectory"] == history["spark.eventLog.dir"] == conf["spark.eventLog.dir"] \
        == "/tmp/spark-events"


def test_flinks_jobmanager_waits_for_the_metastore_and_every_flink_container_gets_its_catalog(hive):
    jm = hive.container("jobmanager")
    assert hive.waits_until_healthy(jm, "hive-metastore")
    hive_files = resource_files("analytics/hive")
    for name in FLINK:
        assert hive.image_chain(name)[:2] == ["build-flink-hive-jars", "build-flink-connectors"]
        env = hive.env(name)
        assert env["HADOOP_CONF_DIR"] == env["HIVE_CONF_DIR"] == "/opt/flink/conf"
        files = hive.files(name)
        assert files["/opt/flink/conf/hive-site.xml"] == hive_files["hive-site.xml"]
        assert files["/opt/flink/conf/core-site.xml"] == hive_files["core-site.xml"]
        assert files["/opt/flink/conf/init-catalogs.sql"] == (RESOURCES / "flex/hive/init-catalogs.sql").read_text()
    for name in FLINK[1:]:  # the others start after the jobmanager, as before
        assert hive.depends_on(hive.container(name)) == {"network", "build-flink-hive-jars", "jobmanager-healthy"}
    catalogs = (RESOURCES / "flex/hive/init-catalogs.sql").read_text()
    assert "'type' = 'hive'" in catalogs and "'hive-conf-dir' = '/opt/flink/conf'" in catalogs
    assert "'catalog-type' = 'hive'" in catalogs and "'uri' = 'thrift://hive-metastore:9083'" in catalogs
    assert properties(hive_files["hive-site.xml"]) == {"hive.metastore.uris": "thrift://hive-metastore:9083",
                                                       "hive.metastore.warehouse.dir": "s3a://hive-warehouse/"}


def test_with_the_metastore_nothing_of_the_rest_catalog_reaches_flink_or_spark(hive):
    for name in hive.containers:
        given = everything(hive, name)
        for word in ("http://rest:8181", "catalog-type: rest", "s3://warehouse"):
            assert word not in given, (name, word)
    for name in FLINK:
        for word in ("sql.catalog.", "sql.default-catalog"):  # the REST catalog's settings in Flink
            assert word not in everything(hive, name), (name, word)
        conf = hive.files(name)["/opt/flink/conf/flink-conf.yaml"]
        # MinIO's settings stay: the metastore's warehouse is there too
        assert "fs.s3a.endpoint: http://minio:9000" in conf
        defaults = yaml.safe_load(hive.files(name)["/opt/flink/conf/sql-client-defaults.yaml"])
        assert "catalogs" not in defaults and "default-catalog" not in defaults["execution"]


def test_the_two_catalogs_never_share_data(rest, hive):
    # the metastore's tables: in a database and a bucket of their own
    assert hive.env("mc")["BUCKETS"] == "hive-warehouse factorhouse"
    assert rest.env("rest")["CATALOG_WAREHOUSE"] == "s3://warehouse/"
    hive_files = resource_files("analytics/hive")
    for text in (hive_files["hive-site.xml"], hive_files["spark-defaults.conf"],
                 hive.files("hive-metastore")["/opt/hive/conf/hive-site.xml"]):
        locations = [w for w in text.split() if "s3a://" in w or "s3://" in w]
        assert locations and all("s3a://hive-warehouse/" in w for w in locations)
    assert "5432/metastore<" in hive.files("hive-metastore")["/opt/hive/conf/hive-site.xml"]
    sql = (RESOURCES / "analytics/hive/metastore-database.sql").read_text()
    statements = " ".join(line for line in sql.splitlines() if not line.startswith("--"))
    assert statements == ("SELECT 'CREATE DATABASE metastore' "
                          "WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'metastore')\\gexec")
    # the same kept volumes either way: the metastore adds none, and nothing is removed
    volumes = {run: {v["name"]: v.retain_on_delete for v in run.of_type(VOLUME)} for run in (rest, hive)}
    assert volumes[rest] == volumes[hive] and all(volumes[hive].values())


def test_switching_the_catalog_replaces_containers_of_the_same_name_rather_than_doubling_them(rest, hive):
    """A container name in both plans belongs to the same resource, so that Pulumi replaces
    it (the old one first) instead of making a second container of that name."""
    for run_a, run_b in ((rest, hive), (hive, rest)):
        urns = {c["name"]: c.urn for c in run_a.containers.values()}
        for container in run_b.containers.values():
            if container["name"] in urns:
                assert urns[container["name"]] == container.urn, container["name"]
                assert container.delete_before_replace


def test_credentials_of_the_metastore_are_secrets_on_both_engines():
    secrets = {"minioPassword": "minio-S3cret-4711", "postgresPassword": "pg-S3cret-4711",
               "redisPassword": "rd-S3cret-4711"}
    keys = tuple(secrets)
    docker = run_program({**HIVE, **secrets}, secret_keys=keys)
    # the metastore's settings file holds the database password: uploaded as a secret
    # (which makes its uploads secret; Spark's, without a credential, are not)
    assert docker.secret("hive-metastore", "uploads") and not docker.secret("spark-iceberg", "uploads")
    assert "pg-S3cret-4711" in docker.files("hive-metastore")["/opt/hive/conf/hive-site.xml"]
    for name in ("hive-metastore", "metastore-db", "spark-iceberg", "jobmanager"):
        assert docker.secret(name, "envs"), name
    k8s = run_program({**K8S, **HIVE, **secrets}, secret_keys=keys)
    for r in k8s.registrations:
        if r.type != "kubernetes:core/v1:Secret":
            text = json.dumps(r.inputs)
            assert not [v for v in secrets.values() if v in text], (r.type, r.name)
    pods = Pods(k8s)
    assert {e["name"] for e in pods.container("metastore-db")["env"] if "valueFrom" in e} == {"PGPASSWORD"}
    [mount] = [m for m in pods.container("hive-metastore")["volumeMounts"]
               if m["mountPath"] == "/opt/hive/conf/hive-site.xml"]
    [volume] = [v for v in pods.pod("hive-metastore")["volumes"] if v["name"] == mount["name"]]
    assert "secret" in volume and pods.files("hive-metastore")["/opt/hive/conf/hive-site.xml"] == \
        docker.files("hive-metastore")["/opt/hive/conf/hive-site.xml"]


def test_a_password_with_xml_characters_is_escaped_in_the_metastores_settings():
    run = run_program({**HIVE, "postgresPassword": 'a<b>&"c'}, secret_keys=("postgresPassword",))
    site = properties(run.files("hive-metastore")["/opt/hive/conf/hive-site.xml"])
    assert site["javax.jdo.option.ConnectionPassword"] == 'a<b>&"c'


def test_image_overrides_of_the_metastore_and_its_spark():
    run = run_program({**HIVE, "images": json.dumps({"hive-metastore": "my/hive:3.1.3", "spark": "my/spark:3.5"})})
    assert run.image_of("hive-metastore") == "my/hive:3.1.3" and run.image_of("spark-iceberg") == "my/spark:3.5"


def test_the_metastore_without_flink_and_flink_without_analytics():
    alone = run_program({**HIVE, "stacks": json.dumps(["analytics"]), "profile": "lite"})
    assert set(alone.containers) == {"minio", "mc", "postgres", "metastore-db", "hive-metastore", "spark-iceberg"}
    assert not [r for r in alone.of_type(COMMAND) if r.name == "download-flink-hive-jars"]
    flink = run_program({"stacks": json.dumps(["flex"])})
    assert "HIVE_CONF_DIR" not in flink.env("jobmanager")


# -- each catalog with each Kafka mode and Flink image, on both engines ----------------------------

COMBINATIONS = list(itertools.product(("rest", "hive"), ("zookeeper", "kraft"), ("true", "false")))


@pytest.fixture(scope="module")
def combinations():
    return {(catalog, mode, pyflink): tuple(run_program({**config, "catalog": catalog, "kafkaMode": mode,
                                                         "pyflink": pyflink, **PASSWORDS})
                                            for config in ({}, K8S))
            for catalog, mode, pyflink in COMBINATIONS}


@pytest.mark.parametrize("case", COMBINATIONS, ids=["-".join(c) for c in COMBINATIONS])
def test_each_catalog_with_each_kafka_mode_and_flink_image_on_both_engines(combinations, case):
    catalog, mode, pyflink = case
    docker_run, k8s_run = combinations[case]
    on_docker, on_k8s = docker_view(docker_run), kubernetes_view(k8s_run)
    assert on_k8s == on_docker
    for name, (waits_docker, waits_k8s) in same_dependencies(docker_run, k8s_run).items():
        assert waits_k8s == waits_docker, name
    ports = [host for name in docker_run.containers for _, host, _ in docker_run.ports(name)]
    assert len(ports) == len(set(ports))
    names = [c["name"] for c in docker_run.containers.values()]
    assert len(names) == len(set(names))
    assert bool(HIVE_ONLY & set(on_docker)) == (catalog == "hive")
    assert ("hive-metastore" in same_dependencies(docker_run, k8s_run)["jobmanager"][0]) == (catalog == "hive")
    assert ("build-pyflink" in docker_run.image_chain("jobmanager")) == (pyflink == "true")
    assert ("zookeeper" in docker_run.containers) is True  # Pinot's, in either mode
    flink_given = " ".join(everything(docker_run, name) for name in FLINK)
    assert ("thrift://hive-metastore:9083" in flink_given) == (catalog == "hive")
    assert ("http://rest:8181" in flink_given) == (catalog == "rest")
    spark_given = everything(docker_run, "spark-iceberg")
    assert ("thrift://hive-metastore:9083" in spark_given) == (catalog == "hive")
    assert ("http://rest:8181" in spark_given) == (catalog == "rest")


def test_the_metastores_manifests_validate(combinations):
    unique = {}
    for catalog, mode, pyflink in COMBINATIONS:
        if catalog == "hive":
            for manifest in manifests(combinations[(catalog, mode, pyflink)][1]):
                unique[json.dumps(manifest, sort_keys=True)] = manifest
    jobs = [m for m in unique.values() if m["kind"] == "Job"]
    assert {m["metadata"]["name"] for m in jobs} == {"mc", "metastore-db"}
    for version in (VERSIONS[0], VERSIONS[-1]):
        for manifest in unique.values():
            kubernetes_validate.validate(manifest, version, strict=True)


def test_the_metastore_on_kubernetes(combinations):
    run = combinations[("hive", "kraft", "false")][1]
    pods = Pods(run)
    assert pods.workloads["metastore-db"].type == "kubernetes:batch/v1:Job"
    # the health checks are probes, as on Docker
    assert pods.container("hive-metastore")["readinessProbe"]["exec"]["command"] == \
        ["bash", "-c", "exec 3<>/dev/tcp/localhost/9083"]
    assert pods.container("postgres")["readinessProbe"]["exec"]["command"][:2] == ["pg_isready", "-h"]
    assert pods.container("hive-metastore")["command"] == ["bash", "/setup/start-metastore.sh"]
    # the database set-up runs again for a new Postgres, the metastore for a new database
    for name in ("metastore-db", "hive-metastore"):
        annotations = pods.workloads[name]["spec"]["template"]["metadata"]["annotations"]
        assert annotations["factorhouse.local/replace-when"], name
    assert "metastore-db" in run.depends_on(pods.workloads["hive-metastore"])
    assert "hive-metastore" in run.depends_on(pods.workloads["jobmanager"])
