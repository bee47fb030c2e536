"""Metadata stack (docs/services.md, Metadata): OpenMetadata 1.11.4 as upstream's `omt`
profile runs it - its own Postgres, Elasticsearch (one node), the schema migration as a
one-shot, the server, and the ingestion (Airflow) on an image built here with our Flink
pipeline connector - and the one-shot `omt-setup`, which sets the administrator's
password and gives OpenMetadata a connection to each service of the other stacks that
run (Kafka with its Schema Registry, the Iceberg catalog, the Postgres databases), and
to nothing that does not.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi

from .analytics import MINIO_URL, postgres_dsn
from .kafka import bootstrap_servers
from .metastore import THRIFT_PORT, WAREHOUSE_BUCKET
from .platform import Platform
from .service import File, HealthCheck, ImageBuild, Service
from settings import RESOURCES, Settings

DB = "omt-db"
ES = "omt-es"
SERVER = "omt-server"
MIGRATE = "omt-migrate"
SETUP = "omt-setup"
INGESTION = "omt-ingestion"
DB_USER, DB_NAME, AIRFLOW_DB = "omt_user", "omt_db", "airflow_db"  # upstream's
DOMAIN = "factorhouse.io"  # the principal domain: the administrator is admin@factorhouse.io
ADMIN_EMAIL = f"admin@{DOMAIN}"
FIRST_PASSWORD = "admin"  # the administrator's password on a new database
AIRFLOW_USER = "admin"
API = f"http://{SERVER}:8585/api"  # as a client inside the network reaches it
HOME = "/opt/factorhouse"  # our files in the ingestion image and containers
SERVICES_FILE = f"{HOME}/services.json"
# Spark's UI of the seed's analytics stack (catalog rest) publishes 8080 too: there,
# Airflow's UI moves to this host port
AIRFLOW_PORT, AIRFLOW_PORT_BESIDE_SPARK = 8080, 8088


def heaps(s: Settings) -> tuple[str, str, int]:
    """(Elasticsearch's ES_JAVA_OPTS, the server's OPENMETADATA_HEAP_OPTS, Elasticsearch's
    container limit in MiB): upstream's 1 GiB heaps, halved in `lite` (a JVM's heap is
    about half of what its container needs)."""
    if s.lite:
        return "-Xms512m -Xmx512m", "-Xmx768m -Xms768m", 1024
    return "-Xms1024m -Xmx1024m", "-Xmx1G -Xms1G", 2048


def airflow_host_port(s: Settings) -> int:
    """Upstream's 8080, unless the seed's Spark (analytics, catalog rest) publishes it."""
    return AIRFLOW_PORT_BESIDE_SPARK if s.runs("analytics") and not s.hive else AIRFLOW_PORT


def server_env(s: Settings) -> dict[str, pulumi.Input[str]]:
    """What the server and the migration read (upstream's settings, without the stray
    quotes and spaces of its compose defaults): basic logins with JWTs, the database,
    Elasticsearch, and the ingestion's Airflow as the pipeline service."""
    return {
        "OPENMETADATA_CLUSTER_NAME": "openmetadata", "SERVER_PORT": "8585", "SERVER_ADMIN_PORT": "8586",
        "LOG_LEVEL": "INFO", "MIGRATION_LIMIT_PARAM": "1200",
        "AUTHORIZER_CLASS_NAME": "org.openmetadata.service.security.DefaultAuthorizer",
        "AUTHORIZER_REQUEST_FILTER": "org.openmetadata.service.security.JwtFilter",
        "AUTHORIZER_ADMIN_PRINCIPALS": "[admin]", "AUTHORIZER_PRINCIPAL_DOMAIN": DOMAIN,
        "AUTHORIZER_INGESTION_PRINCIPALS": "[ingestion-bot]", "AUTHENTICATION_ENABLE_SELF_SIGNUP": "true",
        "AUTHORIZER_ALLOWED_REGISTRATION_DOMAIN": '["all"]', "AUTHENTICATION_PROVIDER": "basic",
        "RSA_PUBLIC_KEY_FILE_PATH": "./conf/public_key.der", "RSA_PRIVATE_KEY_FILE_PATH": "./conf/private_key.der",
        "JWT_ISSUER": DOMAIN, "JWT_KEY_ID": "Gb389a-9f76-gdjs-a92j-0242bk94356",
        "PIPELINE_SERVICE_CLIENT_ENDPOINT": f"http://{INGESTION}:8080",
        "PIPELINE_SERVICE_CLIENT_HEALTH_CHECK_INTERVAL": "300", "SERVER_HOST_API_URL": API,
        "PIPELINE_SERVICE_CLIENT_VERIFY_SSL": "no-ssl", "PIPELINE_SERVICE_CLIENT_SSL_CERT_PATH": "",
        "DB_DRIVER_CLASS": "org.postgresql.Driver",
        "DB_PARAMS": "allowPublicKeyRetrieval=true&useSSL=false&serverTimezone=UTC",
        "DB_USER": DB_USER, "DB_USER_PASSWORD": s.openmetadata_db_password, "DB_HOST": DB, "DB_PORT": "5432",
        "OM_DATABASE": DB_NAME, "DB_SCHEME": "postgresql",
        "ELASTICSEARCH_HOST": ES, "ELASTICSEARCH_PORT": "9200", "ELASTICSEARCH_SCHEME": "http",
        "SEARCH_TYPE": "elasticsearch",
        "EVENT_MONITOR": "prometheus", "EVENT_MONITOR_BATCH_SIZE": "10",
        "EVENT_MONITOR_PATH_PATTERN": '["/api/v1/tables/*", "/api/v1/health-check"]', "EVENT_MONITOR_LATENCY": "[]",
        "PIPELINE_SERVICE_CLIENT_ENABLED": "true",
        "PIPELINE_SERVICE_CLIENT_CLASS_NAME": "org.openmetadata.service.clients.pipeline.airflow.AirflowRESTClient",
        "PIPELINE_SERVICE_IP_INFO_ENABLED": "false", "PIPELINE_SERVICE_CLIENT_HOST_IP": "",
        "PIPELINE_SERVICE_CLIENT_SECRETS_MANAGER_LOADER": "noop",
        "AIRFLOW_USERNAME": AIRFLOW_USER, "AIRFLOW_PASSWORD": s.airflow_password, "AIRFLOW_TIMEOUT": "10",
        "FERNET_KEY": "jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=", "SECRET_MANAGER": "db",
        "OPENMETADATA_HEAP_OPTS": heaps(s)[1], "MASK_PASSWORDS_API": "false", "WEB_CONF_URI_PATH": "/api",
    }


def database_service(s: Settings) -> Service:
    return Service(
        name=DB,
        container="omt_db",
        image=s.images["omt-db"],
        ports=((5434, 5432),),
        command=("--work_mem=10MB",),
        env={"POSTGRES_USER": DB_USER, "POSTGRES_PASSWORD": s.openmetadata_db_password, "POSTGRES_DB": DB_NAME},
        data=(("omt-db-data", "/var/lib/postgresql/data"),),
        # upstream's check over TCP: the image's first start runs a temporary server on its socket only
        healthcheck=HealthCheck(("CMD", "pg_isready", "-h", "127.0.0.1", "-U", DB_USER, "-d", DB_NAME),
                                interval=2, timeout=2, retries=10, start_period=3),
        restart="always",
    )


def elasticsearch_service(s: Settings) -> Service:
    """One node without security, as upstream; its heap and container memory bounded by
    the profile; its indexes kept (the image writes them as uid 1000 of group 0)."""
    java_opts, _, memory = heaps(s)
    return Service(
        name=ES,
        container="omt_es",
        image=s.images["omt-es"],
        ports=((9200, 9200), (9300, 9300)),
        env={"discovery.type": "single-node", "ES_JAVA_OPTS": java_opts, "xpack.security.enabled": "false"},
        data=(("omt-es-data", "/usr/share/elasticsearch/data"),),
        data_group=0,
        healthcheck=HealthCheck(
            ("CMD-SHELL", "curl -s http://localhost:9200/_cluster/health | grep -qE '\"status\":\"(green|yellow)\"'"),
            interval=15, timeout=10, retries=10),
        memory_mb=memory,
    )


def migrate_service(s: Settings, database_id: pulumi.Input[str]) -> Service:
    """The schema migration: the server image's own tool, once the database and
    Elasticsearch are healthy. It applies only what the database lacks, so it runs again
    harmlessly: on a new database (no kept data), a new server image, or changed settings."""
    return Service(
        name=MIGRATE,
        container="omt_migrate",
        image=s.images["omt-server"],
        command=("./bootstrap/openmetadata-ops.sh", "migrate"),
        env=server_env(s),
        depends_on={ES: "healthy", DB: "healthy"},
        one_shot=True,
        replace_when=(database_id,),
    )


def server(s: Settings) -> Service:
    return Service(
        name=SERVER,
        container="omt_server",
        image=s.images["omt-server"],
        ports=((8585, 8585), (8586, 8586)),
        env=server_env(s),
        # upstream's: the admin port's health checks (the database, Elasticsearch, the server)
        healthcheck=HealthCheck(("CMD", "wget", "-q", "--spider", "http://localhost:8586/healthcheck"),
                                interval=10, timeout=5, retries=18, start_period=20),
        depends_on={ES: "healthy", DB: "healthy", MIGRATE: "completed"},
        restart="always",
    )


def ingestion_image(s: Settings) -> ImageBuild:
    return ImageBuild(repository="factorhouse/omt-ingestion", context=RESOURCES / "metadata" / "ingestion",
                      base=s.images["omt-ingestion"])


def admin_env(s: Settings) -> dict[str, pulumi.Input[str]]:
    """How resources/metadata/omt.py reaches the server and logs in."""
    return {"OM_API": API, "OM_ADMIN_EMAIL": ADMIN_EMAIL, "OM_ADMIN_PASSWORD": s.openmetadata_password,
            "OM_FIRST_PASSWORD": FIRST_PASSWORD}


# -- what OpenMetadata is given to catalogue ---------------------------------------------

def _postgres(name: str, host: str, database: str, user: str, password: str) -> dict:
    return {"kind": "databaseServices", "body": {
        "name": name, "serviceType": "Postgres",
        "connection": {"config": {"type": "Postgres", "scheme": "postgresql+psycopg2", "username": user,
                                  "authType": {"password": password}, "hostPort": f"{host}:5432",
                                  "database": database}}}}


def _catalogued(s: Settings, secrets: dict[str, str], schema_user: str) -> list[dict]:
    """The services omt-setup gives OpenMetadata, each with the connection its ingestion
    uses inside the network, for the stacks that run and nothing else."""
    out = []
    if s.runs("kpow"):
        out.append({"kind": "messagingServices", "body": {
            "name": "kafka", "serviceType": "Kafka",
            "connection": {"config": {
                "type": "Kafka", "bootstrapServers": bootstrap_servers(s.lite), "schemaRegistryURL": "http://schema:8081",
                # the connection's own secret field, which the ingestion hands the registry
                # client as basic.auth.user.info (that client refuses any key it does not
                # know, basic.auth.credentials.source among them)
                "basicAuthUserInfo": f"{schema_user}:{secrets['schema']}"}}}})
    if s.runs("analytics"):
        out.append(_postgres("postgres", "postgres", "factorhouse", "db_user", secrets["postgres"]))
        files = {"type": {"awsAccessKeyId": s.minio_user, "awsSecretAccessKey": secrets["minio"],
                          "awsRegion": "us-east-1", "endPointURL": MINIO_URL}}
        if s.hive:
            catalog = {"name": "hive", "connection": {"uri": f"thrift://hive-metastore:{THRIFT_PORT}",
                                                       "fileSystem": files},
                       "warehouseLocation": f"s3a://{WAREHOUSE_BUCKET}/"}
        else:
            # a REST catalog's connection differs from a Hive one's only by keys that Hive's
            # lacks: with just uri and fileSystem, the server and the ingestion both read it
            # as Hive (they try Hive first); an empty OAuth2 credential (no secret: none is
            # sent) makes it REST
            catalog = {"name": "demo", "connection": {"uri": "http://rest:8181", "credential": {}, "fileSystem": files},
                       "warehouseLocation": "s3://warehouse/"}
        out.append({"kind": "databaseServices", "body": {
            "name": "iceberg", "serviceType": "Iceberg",
            "connection": {"config": {"type": "Iceberg", "catalog": catalog}}}})
    if s.runs("lineage"):
        out.append(_postgres("marquez", "marquez-db", "marquez", "marquez", secrets["marquez"]))
    return out


def catalogued(platform: Platform) -> pulumi.Output[str]:
    """omt-setup's services.json (a secret: it holds the other stacks' passwords)."""
    s = platform.settings
    schema = platform.outputs.get("schemaRegistryPassword", "")
    schema_user = platform.outputs.get("schemaRegistryUser", "")
    return pulumi.Output.all(schema=schema, postgres=s.postgres_password, minio=s.minio_password,
                             marquez=s.marquez_password).apply(
        lambda secrets: json.dumps(_catalogued(s, secrets, schema_user), indent=2) + "\n")


def catalogued_names(s: Settings) -> dict[str, str]:
    """The services omt-setup gives OpenMetadata, name -> kind (for `make check`)."""
    blank = {"schema": "", "postgres": "", "minio": "", "marquez": ""}
    return {entry["body"]["name"]: entry["kind"] for entry in _catalogued(s, blank, "")}


def setup_service(platform: Platform, image: ImageBuild, database_id: pulumi.Input[str]) -> Service:
    """The administrator's password and the connections to the other stacks, once the
    server is healthy (resources/metadata/omt.py); it runs again with a new database or
    changed connections, and changes nothing that is already so."""
    return Service(
        name=SETUP,
        container="omt_setup",
        image=image,
        entrypoint=("python3", f"{HOME}/omt.py", "setup", SERVICES_FILE),
        env=admin_env(platform.settings),
        files=(File(f"{HOME}/omt.py", "metadata/omt.py"),
               File(SERVICES_FILE, content=catalogued(platform), secret=True)),
        depends_on={SERVER: "healthy"},
        one_shot=True,
        replace_when=(database_id,),
    )


# The ingestion image of OpenMetadata 1.11.4 runs Airflow 3.1: its API server's health is
# GET /api/v2/monitor/health (no login); Airflow 2's /health answers 404 there.
AIRFLOW_HEALTH_PATH = "/api/v2/monitor/health"


def airflow_health(base: str = "http://localhost:8080") -> str:
    """omt-ingestion's health check (python3 -c): exit 0 when Airflow's metadata database
    and scheduler are healthy, 1 otherwise (an error answer or no answer raises)."""
    return ("import json, sys, urllib.request; "
            f"h = json.load(urllib.request.urlopen('{base}{AIRFLOW_HEALTH_PATH}', timeout=5)); "
            "sys.exit(0 if all((h.get(k) or {}).get('status') == 'healthy' for k in ('metadatabase', 'scheduler')) "
            "else 1)")


def ingestion_service(s: Settings, image: ImageBuild) -> Service:
    """Airflow with OpenMetadata's APIs, on the image built here: its database is
    airflow_db of omt-db (which the database image makes), its deployed pipelines kept;
    its start (resources/metadata/start-ingestion.sh) takes the administrator's token for
    Airflow's lineage backend, then runs the image's own start."""
    return Service(
        name=INGESTION,
        container="omt_ingestion",
        image=image,
        ports=((airflow_host_port(s), 8080),),
        entrypoint=("/bin/bash", f"{HOME}/start-ingestion.sh"),
        env={
            "AIRFLOW__API__AUTH_BACKENDS": "airflow.api.auth.backend.basic_auth,airflow.api.auth.backend.session",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__OPENMETADATA_AIRFLOW_APIS__DAG_GENERATED_CONFIGS": "/opt/airflow/dag_generated_configs",
            "DB_HOST": DB, "DB_PORT": "5432", "AIRFLOW_DB": AIRFLOW_DB, "DB_USER": DB_USER,
            "DB_PASSWORD": s.openmetadata_db_password, "DB_SCHEME": "postgresql+psycopg2", "DB_PROPERTIES": "",
            "AIRFLOW_ADMIN_USER": AIRFLOW_USER, "AIRFLOW_ADMIN_PASSWORD": s.airflow_password,
            "AIRFLOW__LINEAGE__BACKEND": "airflow_provider_openmetadata.lineage.backend.OpenMetadataLineageBackend",
            "AIRFLOW__LINEAGE__AIRFLOW_SERVICE_NAME": "local_airflow",
            "AIRFLOW__LINEAGE__OPENMETADATA_API_ENDPOINT": API,
            **admin_env(s),
        },
        files=(File(f"{HOME}/omt.py", "metadata/omt.py"),
               File(f"{HOME}/start-ingestion.sh", "metadata/start-ingestion.sh")),
        # the pipelines the server deploys: their DAGs and configurations (the image's
        # airflow user is of group 0)
        data=(("omt-ingestion-dags", "/opt/airflow/dags"),
              ("omt-ingestion-dag-configs", "/opt/airflow/dag_generated_configs")),
        data_group=0,
        healthcheck=HealthCheck(("CMD", "python3", "-c", airflow_health()), interval=10, timeout=5, retries=30,
                                start_period=30),
        depends_on={ES: "healthy", DB: "healthy", SERVER: "healthy", SETUP: "completed"},
    )


class MetadataStack(pulumi.ComponentResource):
    """OpenMetadata: omt-db, omt-es, omt-migrate, omt-server, omt-setup, omt-ingestion."""

    def __init__(self, platform: Platform, opts: pulumi.ResourceOptions | None = None):
        super().__init__("factorhouse:stacks:Metadata", "metadata", None, opts)
        s = platform.settings
        database = platform.run(database_service(s), self)
        platform.run(elasticsearch_service(s), self)
        platform.run(migrate_service(s, database.id), self)
        platform.run(server(s), self)
        image = ingestion_image(s)
        platform.run(setup_service(platform, image, database.id), self)
        platform.run(ingestion_service(s, image), self)
        outputs: dict[str, Any] = {
            "openmetadataUrl": s.url(8585), "openmetadataAdminUrl": s.url(8586),
            "openmetadataUser": ADMIN_EMAIL, "openmetadataPassword": s.openmetadata_password,
            "elasticsearchUrl": s.url(9200),
            "airflowUrl": s.url(airflow_host_port(s)), "airflowUser": AIRFLOW_USER, "airflowPassword": s.airflow_password,
            # for `make check` (docs/check.md): the database's login (a secret) and what omt-setup catalogues
            "openmetadataDbDsn": postgres_dsn(s, DB_USER, s.openmetadata_db_password, 5434, DB_NAME),
            "openmetadataServices": catalogued_names(s),
        }
        self.outputs = outputs
        self.register_outputs(self.outputs)
