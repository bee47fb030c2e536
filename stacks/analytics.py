"""Analytics stack (docs/services.md, Analytics): Spark with Iceberg, the Iceberg REST
catalog, MinIO with its buckets, and Postgres; with `catalog: hive`, the Hive Metastore
and upstream's Spark on it instead of the REST catalog and its Spark (stacks/metastore.py)."""

from __future__ import annotations

from typing import Optional
from urllib.parse import quote

import pulumi

from . import metastore
from .platform import Platform
from .service import File, HealthCheck, Service
from settings import Settings

BUCKETS = ("warehouse", "factorhouse")  # Iceberg tables, general use
MINIO_URL = "http://minio:9000"


def buckets(s: Settings) -> tuple[str, ...]:
    """The buckets the set-up makes: the chosen catalog's warehouse (the REST catalog's
    `warehouse`, or the metastore's own) and the general one."""
    return (metastore.WAREHOUSE_BUCKET, *BUCKETS[1:]) if s.hive else BUCKETS


def postgres_service(s: Settings, healthcheck: Optional[HealthCheck]) -> Service:
    """The platform's Postgres; with a health check where something waits for it to answer
    (the metastore's database set-up, catalog hive)."""
    return Service(
        name="postgres",
        container="postgres",
        image=s.images["postgres"],
        ports=((5432, 5432),),
        command=("postgres", "-c", "wal_level=logical"),
        env={
            "POSTGRES_DB": "factorhouse",
            "POSTGRES_USER": "db_user",
            "POSTGRES_PASSWORD": s.postgres_password,
            "PGUSER": "db_user",
            "TZ": "UTC",
        },
        files=(File("/docker-entrypoint-initdb.d", "analytics/postgres"),),
        data=(("postgres-data", "/var/lib/postgresql/data"),),
        healthcheck=healthcheck,
    )


def postgres_dsn(s: Settings, user: str, password: pulumi.Input[str], port: int, database: str) -> pulumi.Output[str]:
    """The libpq URI a client on the user's machine logs in with, `postgresql://USER:
    PASSWORD@HOST:PORT/DATABASE` (the published port; the password percent-encoded, so
    that any password reads back as itself); a secret, as the password is."""
    return pulumi.Output.secret(pulumi.Output.from_input(password).apply(
        lambda value: f"postgresql://{user}:{quote(value, safe='')}@{s.host_address}:{s.port(port)}/{database}"))


def s3_credentials(platform: Platform) -> dict[str, pulumi.Input[str]]:
    """The MinIO credentials as the AWS SDK reads them (one source for every client)."""
    s = platform.settings
    return {"AWS_ACCESS_KEY_ID": s.minio_user, "AWS_SECRET_ACCESS_KEY": s.minio_password, "AWS_REGION": "us-east-1"}


class AnalyticsStack(pulumi.ComponentResource):
    def __init__(self, platform: Platform, opts: pulumi.ResourceOptions | None = None):
        super().__init__("factorhouse:stacks:Analytics", "analytics", None, opts)
        s = platform.settings

        minio = platform.run(Service(
            name="minio",
            container="minio",
            image=s.images["minio"],
            ports=((9000, 9000), (9001, 9001)),
            command=("server", "/data", "--console-address", ":9001"),
            env={"MINIO_ROOT_USER": s.minio_user, "MINIO_ROOT_PASSWORD": s.minio_password, "MINIO_DOMAIN": "minio"},
            data=(("minio-data", "/data"),),
            # the bucket set-up and the catalog wait for MinIO to answer
            healthcheck=HealthCheck(("CMD", "mc", "ready", "local"), interval=5, timeout=5, retries=12),
        ), self)

        platform.run(Service(
            name="mc",
            container="mc",
            image=s.images["mc"],
            entrypoint=("/bin/sh", "/setup/create-buckets.sh"),
            env={
                "MINIO_URL": MINIO_URL,
                "MINIO_ROOT_USER": s.minio_user,
                "MINIO_ROOT_PASSWORD": s.minio_password,
                "BUCKETS": " ".join(buckets(s)),
            },
            files=(File("/setup", "analytics/minio"),),
            depends_on={"minio": "healthy"},
            one_shot=True,
            # a new MinIO container (without kept data) needs its buckets again
            replace_when=(minio.id,),
        ), self)

        if s.hive:
            postgres = platform.run(postgres_service(s, metastore.POSTGRES_CHECK), self)
            metastore.run_catalog(platform, self, s3_credentials(platform), postgres)
        else:
            self._rest_catalog(platform)
            platform.run(postgres_service(s, None), self)
        self.outputs = {
            "minioApiUrl": s.url(9000),
            "minioConsoleUrl": s.url(9001),
            "postgresDsn": postgres_dsn(s, "db_user", s.postgres_password, 5432, "factorhouse"),
            **(metastore.outputs(platform) if s.hive else self._rest_outputs(s)),
            # what `make check` reads (docs/check.md): the catalog (which Spark runs), and
            # what it asks of MinIO with
            "catalog": s.catalog,
            "minioUser": s.minio_user,
            "minioPassword": s.minio_password,  # a secret
            "minioBuckets": list(buckets(s)),
        }
        self.register_outputs(self.outputs)

    def _rest_catalog(self, platform: Platform) -> None:
        """The Iceberg REST catalog and the seed's Spark with Iceberg on it."""
        s = platform.settings
        platform.run(Service(
            name="rest",
            container="iceberg-rest",
            image=s.images["rest"],
            ports=((8181, 8181),),
            env={
                **s3_credentials(platform),
                "CATALOG_WAREHOUSE": "s3://warehouse/",
                "CATALOG_IO__IMPL": "org.apache.iceberg.aws.s3.S3FileIO",
                "CATALOG_S3_ENDPOINT": MINIO_URL,
                "CATALOG_S3_PATH__STYLE__ACCESS": "true",
                "AWS_CBOR_DISABLE": "true",
            },
            depends_on={"minio": "healthy", "mc": "completed"},
        ), self)

        thrift = ((10000, 10000), (10001, 10001)) if s.spark_thrift_ports else ()
        platform.run(Service(
            name="spark-iceberg",
            container="spark-iceberg",
            image=s.images["spark-iceberg"],
            ports=((8888, 8888), (8080, 8080)) + thrift,
            env=s3_credentials(platform),
            files=(
                File("/opt/spark/conf/spark-defaults.conf", "analytics/spark/spark-defaults.conf"),
                File("/opt/spark/conf/log4j2.properties", "analytics/spark/log4j2.properties"),
            ),
            depends_on={"rest": "started", "minio": "healthy", "mc": "completed"},
        ), self)

    @staticmethod
    def _rest_outputs(s: Settings) -> dict[str, str]:
        outputs = {"jupyterUrl": s.url(8888), "sparkUiUrl": s.url(8080), "icebergRestUrl": s.url(8181)}
        if s.spark_thrift_ports:
            outputs["sparkThriftUrl"] = f"jdbc:hive2://{s.host_address}:{s.port(10000)}"
        return outputs
