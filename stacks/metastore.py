"""The Hive Metastore (`catalog: hive`; docs/services.md, "The Hive Metastore"), as
upstream runs it today: its database in the analytics stack's Postgres, the metastore
itself (apache/hive 3.1.3) with MinIO as its warehouse, the Spark that uses it
(apache/spark with its history server) and what every Flink container gets to use it.
With the REST catalog (the default) nothing here runs, and nothing of it reaches Flink
or Spark.

The two catalogs never share data: the metastore's tables live in a database
(`metastore`) and a bucket (`hive-warehouse`) of their own, never the user's database
`factorhouse` nor the REST catalog's bucket `warehouse`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping
from xml.sax.saxutils import escape

import pulumi

from .platform import Deployed, Platform
from .service import Download, File, HealthCheck, Service

WAREHOUSE_BUCKET = "hive-warehouse"  # the metastore's warehouse: s3a://hive-warehouse/
DATABASE = "metastore"  # its database in the platform's Postgres, which metastore-db makes
THRIFT_PORT = 9083
HIVE = "analytics/hive"  # its files in resources/

# Upstream's checks: Postgres answers (pg_isready, here over TCP: the image's first-start
# server listens on its socket only, and the one-shot below comes over the network), the
# metastore's thrift port takes a connection.
POSTGRES_CHECK = HealthCheck(("CMD", "pg_isready", "-h", "127.0.0.1", "-U", "db_user", "-d", "factorhouse"),
                             interval=2, timeout=2, retries=10, start_period=3)
METASTORE_CHECK = HealthCheck(("CMD", "bash", "-c", f"exec 3<>/dev/tcp/localhost/{THRIFT_PORT}"),
                              interval=2, timeout=2, retries=10, start_period=3)

SPARK_HISTORY = ("bash", "-c", "mkdir -p /tmp/spark-events && exec /opt/spark/bin/spark-class "
                 "org.apache.spark.deploy.history.HistoryServer --properties-file /tmp/spark-defaults-history.conf")


def metastore_site(password: pulumi.Input[str]) -> pulumi.Output[str]:
    """The metastore's hive-site.xml: resources/analytics/hive/metastore-site.xml with its
    database password (the postgresPassword setting) added; a secret."""
    [site] = File("/opt/hive/conf/hive-site.xml", f"{HIVE}/metastore-site.xml").expand()
    head, tail = site.text.rsplit("</configuration>", 1)

    def with_password(value: str) -> str:
        return (f"{head}  <property>\n    <name>javax.jdo.option.ConnectionPassword</name>\n"
                f"    <value>{escape(value)}</value>\n  </property>\n</configuration>{tail}")
    return pulumi.Output.secret(pulumi.Output.from_input(password).apply(with_password))


def database_setup(platform: Platform, postgres: Deployed) -> Service:
    """The one-shot that makes the metastore's database where it is missing, once Postgres
    answers, and again on every new Postgres container (a new data folder needs it; a kept
    one has it, and the script then changes nothing)."""
    s = platform.settings
    return Service(
        name="metastore-db",
        container="metastore-db",
        image=s.images["postgres"],  # for its psql
        command=("psql", "-v", "ON_ERROR_STOP=1", "-f", "/setup/metastore-database.sql"),
        env={"PGHOST": "postgres", "PGUSER": "db_user", "PGDATABASE": "factorhouse",
             "PGPASSWORD": s.postgres_password},
        files=(File("/setup/metastore-database.sql", f"{HIVE}/metastore-database.sql"),),
        depends_on={"postgres": "healthy"},
        one_shot=True,
        replace_when=(postgres.id,),
    )


def metastore(platform: Platform, credentials: Mapping[str, pulumi.Input[str]],
              database: Deployed) -> Service:
    """The Hive Metastore on its database, once the database and the warehouse bucket
    exist; started anew whenever its database was set up anew (a new Postgres)."""
    s = platform.settings
    return Service(
        name="hive-metastore",
        container="hive-metastore",
        image=s.images["hive-metastore"],
        ports=((THRIFT_PORT, THRIFT_PORT),),
        # the image's entrypoint, told whether the schema exists (start-metastore.sh)
        entrypoint=("bash", "/setup/start-metastore.sh"),
        env={"SERVICE_NAME": "metastore", "DB_DRIVER": "postgres", "METASTORE_PORT": str(THRIFT_PORT),
             **credentials},
        files=(
            File("/opt/hive/conf/hive-site.xml", content=metastore_site(s.postgres_password), secret=True),
            File("/opt/hive/conf/core-site.xml", f"{HIVE}/core-site.xml"),
            File("/setup/start-metastore.sh", f"{HIVE}/start-metastore.sh"),
        ),
        downloads=((Download("hive-metastore-jars"), "/opt/hive/lib"),),
        healthcheck=METASTORE_CHECK,
        depends_on={"postgres": "healthy", "metastore-db": "completed", "minio": "healthy", "mc": "completed"},
        # a failed start (Postgres not there yet) is tried again, as Connect's is
        restart="unless-stopped",
        replace_when=(database.id,),
    )


def spark(platform: Platform, credentials: Mapping[str, pulumi.Input[str]]) -> Service:
    """Spark as upstream runs it on the metastore: apache/spark with Iceberg's and
    Hadoop's jars, its history server in the foreground; the Spark UI of an application
    started in the container on 4040."""
    s = platform.settings
    return Service(
        name="spark-iceberg",
        container="spark-iceberg",
        image=s.images["spark"],
        ports=((4040, 4040), (18080, 18080)),
        command=SPARK_HISTORY,
        env={"SPARK_NO_DAEMONIZE": "true", **credentials},
        files=(
            File("/opt/spark/conf/spark-defaults.conf", f"{HIVE}/spark-defaults.conf"),
            File("/tmp/spark-defaults-history.conf", f"{HIVE}/spark-history.conf"),
            File("/opt/spark/conf/log4j2.properties", "analytics/spark/log4j2.properties"),
            File("/opt/spark/conf/hive-site.xml", f"{HIVE}/hive-site.xml"),
            File("/opt/spark/conf/core-site.xml", f"{HIVE}/core-site.xml"),
        ),
        downloads=((Download("spark-hive-jars"), "/opt/spark/jars"),),
        depends_on={"hive-metastore": "healthy", "minio": "healthy", "mc": "completed"},
    )


def run_catalog(platform: Platform, parent: pulumi.Resource, credentials: Mapping[str, pulumi.Input[str]],
                postgres: Deployed) -> None:
    """The metastore's database set-up, the metastore and its Spark, in the analytics
    stack (after MinIO, its buckets and Postgres)."""
    database = platform.run(database_setup(platform, postgres), parent)
    platform.run(metastore(platform, credentials, database), parent)
    platform.run(spark(platform, credentials), parent)


def outputs(platform: Platform) -> dict[str, str]:
    """Where a client reaches the metastore and Spark (catalog hive)."""
    s = platform.settings
    return {"hiveMetastoreUri": f"thrift://{s.host_address}:{s.port(THRIFT_PORT)}",
            "sparkUiUrl": s.url(4040), "sparkHistoryUrl": s.url(18080),
            "metastoreDatabase": DATABASE}  # for `make check`: what the one-shot makes


@dataclass(frozen=True)
class FlinkSide:
    """What every Flink container gets of the catalog: files in /opt/flink/conf, settings,
    downloaded folders (with the path they go to), and what the jobmanager waits for.
    Empty with the REST catalog."""

    files: tuple[File, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    downloads: tuple[tuple[Download, str], ...] = ()
    jobmanager_waits_for: Mapping[str, str] = field(default_factory=dict)


def flink_side(platform: Platform) -> FlinkSide:
    """With catalog hive (and so the analytics stack), as upstream: the metastore's client
    settings and Hadoop's S3A settings in /opt/flink/conf (HIVE_CONF_DIR, HADOOP_CONF_DIR),
    its catalogs in init-catalogs.sql, Flink's Hive connector and the Hive jars in
    /opt/flink/lib, and a jobmanager that starts once the metastore is healthy."""
    s = platform.settings
    if not (s.hive and s.runs("analytics")):
        return FlinkSide()
    return FlinkSide(
        files=(File("/opt/flink/conf/hive-site.xml", f"{HIVE}/hive-site.xml"),
               File("/opt/flink/conf/core-site.xml", f"{HIVE}/core-site.xml"),
               File("/opt/flink/conf/init-catalogs.sql", "flex/hive/init-catalogs.sql")),
        env={"HADOOP_CONF_DIR": "/opt/flink/conf", "HIVE_CONF_DIR": "/opt/flink/conf"},
        downloads=((Download("flink-hive-jars"), "/opt/flink/lib"),),
        jobmanager_waits_for={"hive-metastore": "healthy"},
    )
