"""Lineage stack (docs/services.md, Lineage): Marquez (its own Postgres, the API, the web
UI), and the OpenLineage configuration that Connect and the Flink containers get when it
runs, so that their lineage reaches Marquez; when it does not run, nothing is configured
to send to a Marquez that is not there.
"""

from __future__ import annotations

import pulumi

from .analytics import postgres_dsn
from .platform import Platform
from .service import File, HealthCheck, Service, curl_check, wget_check
from settings import Settings

MARQUEZ_API = "http://marquez-api:5000"  # as a client inside the network reaches it
NAMESPACE = "fh-local"  # upstream's OpenLineage namespace of the jobs
OPENLINEAGE_FILE = "lineage/openlineage.yml"  # HTTP transport to MARQUEZ_API
# the dataset namespace of Kafka topics in Connect's lineage (kafka://kafka-1:19092): the
# first broker, which every profile runs
KAFKA_BOOTSTRAP = "kafka-1:19092"


def connect_lineage(s: Settings) -> tuple[dict[str, str], tuple[File, ...]]:
    """Connect's OpenLineage settings and files, as upstream wires them; none without the
    lineage stack. OPENLINEAGE_URL, OPENLINEAGE_NAMESPACE and KAFKA_BOOTSTRAP are what
    upstream's lineage transform (an SMT) reads; Debezium's OpenLineage integration reads
    the file that a connector names (`openlineage.integration.config.file.path`)."""
    if not s.runs("lineage"):
        return {}, ()
    env = {"OPENLINEAGE_URL": MARQUEZ_API, "OPENLINEAGE_NAMESPACE": NAMESPACE, "KAFKA_BOOTSTRAP": KAFKA_BOOTSTRAP}
    return env, (File("/etc/kafka-connect/openlineage.yml", OPENLINEAGE_FILE),)


def flink_lineage(s: Settings) -> tuple[dict[str, str], tuple[File, ...]]:
    """The OpenLineage settings and files of every Flink container; none without the
    lineage stack. OpenLineage's Java client (a job's OpenLineageFlinkJobListener) and
    Python client read the file OPENLINEAGE_CONFIG names."""
    if not s.runs("lineage"):
        return {}, ()
    config = "/opt/flink/conf/openlineage.yml"
    return ({"OPENLINEAGE_CONFIG": config, "OPENLINEAGE_NAMESPACE": NAMESPACE},
            (File(config, OPENLINEAGE_FILE),))


class LineageStack(pulumi.ComponentResource):
    def __init__(self, platform: Platform, opts: pulumi.ResourceOptions | None = None):
        super().__init__("factorhouse:stacks:Lineage", "lineage", None, opts)
        s = platform.settings

        database = platform.run(Service(
            name="marquez-db",
            container="marquez_db",
            image=s.images["marquez-db"],
            ports=((5433, 5432),),
            command=("postgres", "-c", "config_file=/etc/postgresql/postgresql.conf"),
            env={"POSTGRES_USER": "marquez", "POSTGRES_PASSWORD": s.marquez_password, "POSTGRES_DB": "marquez"},
            files=(File("/etc/postgresql/postgresql.conf", "lineage/marquez-db/postgresql.conf"),),
            data=(("marquez-db-data", "/var/lib/postgresql/data"),),
            # over TCP: the image's first start runs a temporary server on its socket only
            healthcheck=HealthCheck(("CMD", "pg_isready", "-h", "127.0.0.1", "-U", "marquez", "-d", "marquez"),
                                    interval=2, timeout=2, retries=10, start_period=3),
        ), self)

        platform.run(Service(
            name="marquez-api",
            container="marquez-api",
            image=s.images["marquez"],
            ports=((5002, 5000), (5001, 5001)),
            env={
                "MARQUEZ_PORT": "5000",
                "MARQUEZ_ADMIN_PORT": "5001",
                "MARQUEZ_CONFIG": "/usr/src/app/marquez.dev.yml",
                "POSTGRES_HOST": "marquez-db",
                "POSTGRES_PORT": "5432",
                "POSTGRES_DB": "marquez",
                "POSTGRES_USER": "marquez",
                "POSTGRES_PASSWORD": s.marquez_password,
                "SEARCH_ENABLED": "false",
            },
            files=(File("/usr/src/app/marquez.dev.yml", "lineage/marquez/marquez.yml"),),
            healthcheck=curl_check("http://localhost:5000/api/v1/namespaces", interval=5, timeout=5, retries=12,
                                   start_period=10),
            # the engine's start order, once the database answers (upstream: wait-for-it.sh)
            depends_on={"marquez-db": "healthy"},
            # it makes its schema when it starts: a new database (no kept data) needs it again
            replace_when=(database.id,),
        ), self)

        platform.run(Service(
            name="marquez-web",
            container="marquez-web",
            image=s.images["marquez-web"],
            ports=((3003, 3000),),
            env={"MARQUEZ_HOST": "marquez-api", "MARQUEZ_PORT": "5000", "WEB_PORT": "3000"},
            # the image's Node server answers /healthcheck (Alpine: busybox's wget, no curl)
            healthcheck=wget_check("http://localhost:3000/healthcheck", interval=5, timeout=5, retries=12),
            depends_on={"marquez-api": "healthy"},
        ), self)

        self.outputs = {"marquezUrl": s.url(5002), "marquezAdminUrl": s.url(5001), "marquezWebUrl": s.url(3003),
                        # the login of Marquez's Postgres, for `make check` (docs/check.md); a secret
                        "marquezDbDsn": postgres_dsn(s, "marquez", s.marquez_password, 5433, "marquez")}
        self.register_outputs(self.outputs)
