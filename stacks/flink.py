"""Flink stack (docs/services.md, Flink): the Flink image built here (on PyFlink's
Python layer, or on the plain base), a jobmanager, taskmanagers, the SQL gateway and
Flex."""

from __future__ import annotations

import pulumi
import yaml

from .analytics import s3_credentials
from .factorhouse import asks_login, factorhouse_app
from .lineage import flink_lineage
from .metastore import flink_side
from .platform import Platform
from .service import Download, File, ImageBuild, Metrics, Service, curl_check
from settings import RESOURCES, Settings

FLINK_VERSION = "1.20.1"
# Flink's Prometheus reporter (resources/flex/conf/flink-conf.yaml: on in every Flink
# container, whether or not the telemetry stack runs) on the jobmanager and taskmanagers
REPORTER = Metrics("flink", 9249)
CONF = RESOURCES / "flex" / "conf"
# Settings of resources/flex/conf that point at the analytics stack (MinIO, Iceberg)
ANALYTICS_KEYS = ("fs.s3a.", "sql.catalog.", "sql.default-catalog")
# of those, the Iceberg REST catalog's (left out with catalog hive)
REST_CATALOG_KEYS = ("sql.catalog.", "sql.default-catalog")

SQL_GATEWAY = (
    "bin/sql-gateway.sh", "start-foreground",
    "-Dsql-gateway.endpoint.rest.address=0.0.0.0",
    "-Dsql-gateway.endpoint.rest.port=9090",
    "-Djobmanager.rpc.address=jobmanager",
    "-Drest.address=jobmanager",
)


def _without(conf: str, keys: tuple[str, ...]) -> str:
    return "".join(line for line in conf.splitlines(keepends=True) if not line.startswith(keys))


def _without_catalogs(sql: str, why: str) -> str:
    defaults = yaml.safe_load(sql)
    defaults.pop("catalogs", None)
    defaults.get("execution", {}).pop("default-catalog", None)
    return f"# SQL client defaults ({why})\n" + yaml.safe_dump(defaults)


def flink_config(analytics: bool, rest_catalog: bool = True) -> dict[str, str]:
    """The Flink configuration files, by name. Without the analytics stack, the MinIO
    and Iceberg catalog settings are left out (nothing would answer them); without the
    REST catalog (catalog hive), its settings (the metastore's are in other files:
    stacks/metastore.py)."""
    conf = (CONF / "flink-conf.yaml").read_text()
    sql = (CONF / "sql-client-defaults.yaml").read_text()
    if not analytics:
        conf = _without(conf, ANALYTICS_KEYS)
        sql = _without_catalogs(sql, "the analytics stack does not run: no Iceberg catalog")
    elif not rest_catalog:
        conf = _without(conf, REST_CATALOG_KEYS)
        sql = _without_catalogs(sql, "catalog hive: the Hive Metastore's catalogs are in init-catalogs.sql")
    return {"flink-conf.yaml": conf, "sql-client-defaults.yaml": sql}


def task_slots(conf: str) -> int:
    """The task slots of each taskmanager, as its flink-conf.yaml sets them (Flink's default: 1)."""
    return int((yaml.safe_load(conf) or {}).get("taskmanager.numberOfTaskSlots", 1))


def flink_image(s: Settings) -> ImageBuild:
    """The Flink image built here: the Flink layer (S3 plugins, Hadoop, jars) on the Python
    layer (PyFlink, as the seed), or on the plain base (`pyflink: false`)."""
    base = s.images["flink"]
    if s.pyflink:
        base = ImageBuild(repository="factorhouse/pyflink", context=RESOURCES / "flex" / "pyflink", base=base,
                          build_args={"FLINK_VERSION": FLINK_VERSION})
    return ImageBuild(
        repository="factorhouse/flink",
        context=RESOURCES / "flex" / "flink",
        base=base,
        build_args={"FLINK_VERSION": FLINK_VERSION},
        add=((Download("pyflink-jars"), "jars"),),
    )


class FlinkStack(pulumi.ComponentResource):
    def __init__(self, platform: Platform, opts: pulumi.ResourceOptions | None = None):
        super().__init__("factorhouse:stacks:Flink", "flink", None, opts)
        s = platform.settings
        analytics = s.runs("analytics")
        image = flink_image(s)
        # the catalog's part (catalog hive): files, settings, jars, the metastore to wait for
        catalog = flink_side(platform)
        # where Flink jobs send lineage (only while the lineage stack runs)
        lineage_env, lineage_files = flink_lineage(s)
        files = tuple(File(f"/opt/flink/conf/{name}", content=text)
                      for name, text in flink_config(analytics, rest_catalog=not s.hive).items()) \
            + catalog.files + lineage_files
        env: dict[str, pulumi.Input[str]] = {
            "HADOOP_CONF_DIR": "/opt/hadoop/etc/hadoop",
            "AWS_REGION": "us-east-1",
            # the image's entrypoint writes this into flink-conf.yaml at every start
            # (default: the container's own host name)
            "JOB_MANAGER_RPC_ADDRESS": "jobmanager",
            # the MinIO credentials, for S3A and Iceberg's S3FileIO (AWS default chain)
            **(s3_credentials(platform) if analytics else {}),
            **catalog.env,
            **lineage_env,
        }

        def flink(name: str, command: tuple[str, ...], **more) -> Service:
            return Service(name=name, container=name, image=image, command=command,
                           env={**env, **more.pop("env", {})}, files=files,
                           downloads=((Download("flink-connectors"), "/tmp/connector"),) + catalog.downloads, **more)

        platform.run(flink(
            "jobmanager", ("jobmanager",),
            ports=((8082, 8081),),
            healthcheck=curl_check("http://localhost:8081/config", interval=5, timeout=5, retries=5),
            depends_on=catalog.jobmanager_waits_for,
            metrics=(REPORTER,),
        ), self)
        for n in range(1, 2 if s.lite else 4):
            platform.run(flink(f"taskmanager-{n}", ("taskmanager",), depends_on={"jobmanager": "healthy"},
                               metrics=(REPORTER,)), self)
        platform.run(flink(
            "sql-gateway", SQL_GATEWAY,
            ports=((9090, 9090),),
            env={"FLINK_SQL_GATEWAY_DEFAULT_CATALOG_NAME": "default_catalog",
                 "FLINK_SQL_GATEWAY_DEFAULT_DATABASE_NAME": "default_database"},
            depends_on={"jobmanager": "healthy"},
        ), self)

        flex = factorhouse_app(platform, "flex", 3001, env={}, depends_on={"jobmanager": "healthy"})
        platform.run(flex, self)

        self.outputs = {"flexUrl": s.url(3001), "flinkUiUrl": s.url(8082), "sqlGatewayUrl": s.url(9090),
                        # what `make check` asks of them (docs/check.md)
                        "flinkTaskSlots": task_slots(flink_config(analytics)["flink-conf.yaml"]),
                        "flexLogin": asks_login(flex)}
        self.register_outputs(self.outputs)
