"""The analytics stack's questions (stacks/analytics.py): the Iceberg REST catalog, Spark and
Jupyter, MinIO and its buckets, Postgres.
"""

from __future__ import annotations

import botocore.exceptions

from .plumbing import Failed, Target, http, json_of, postgres_row, question, rest_catalog, s3_call, s3_client


@question("rest", asks="{icebergRestUrl}/v1/config answers the catalog's configuration")
def iceberg_rest(t: Target) -> str:
    config = json_of(http("GET", f"{t.output('icebergRestUrl')}/v1/config"))
    if not isinstance(config, dict) or not isinstance(config.get("defaults"), dict) \
            or not isinstance(config.get("overrides"), dict):
        raise Failed(f"/v1/config answered {str(config)[:120]}, without the catalog's defaults and overrides")
    return f"defaults {sorted(config['defaults']) or 'none'}, overrides {sorted(config['overrides']) or 'none'}"


@question("spark-iceberg", when=rest_catalog,
          asks="Jupyter ({jupyterUrl}/api) answers; the Spark master ({sparkUiUrl}/json/) is alive, with a worker")
def spark(t: Target) -> str:
    jupyter = json_of(http("GET", f"{t.output('jupyterUrl')}/api"))
    if "version" not in jupyter:
        raise Failed(f"{t.output('jupyterUrl')}/api answered without Jupyter's version: {str(jupyter)[:120]}")
    master = json_of(http("GET", f"{t.output('sparkUiUrl')}/json/"))
    workers = master.get("aliveworkers", 0)
    if master.get("status") != "ALIVE" or workers < 1:
        raise Failed(f"the Spark master is {master.get('status')} with {workers} live workers")
    return f"Jupyter {jupyter['version']}; Spark master alive, {workers} worker(s)"


@question("minio", asks="S3 at {minioApiUrl} lists the buckets with the platform's credentials ({minioUser})")
def minio(t: Target) -> str:
    s3 = s3_client(t)
    names = [b["Name"] for b in s3_call(t, s3.list_buckets).get("Buckets", [])]
    return f"{len(names)} buckets: {', '.join(names) or 'none'}"


@question("mc", asks="the buckets the set-up makes exist at {minioApiUrl}")
def buckets(t: Target) -> str:
    s3, missing = s3_client(t), []
    for bucket in t.output("minioBuckets"):
        try:
            s3_call(t, lambda: s3.head_bucket(Bucket=bucket))
        except botocore.exceptions.ClientError:
            missing.append(bucket)
    if missing:
        raise Failed(f"bucket {', '.join(missing)} does not exist",
                     f"`make up STACK={t.stack}` runs the bucket set-up again (it never removes anything)")
    return f"buckets {', '.join(t.output('minioBuckets'))} exist"


@question("postgres", asks="the platform's user logs in at {address}, and wal_level is logical")
def postgres(t: Target) -> str:
    user, wal_level = postgres_row(
        t, t.output("postgresDsn"), "SELECT current_user, current_setting('wal_level')",
        "Postgres keeps the password its data volume was first made with: set postgresPassword back, or change "
        "it in Postgres (ALTER USER db_user PASSWORD ...)")
    if wal_level != "logical":
        raise Failed(f"wal_level is {wal_level}, not logical: change data capture (Debezium, publication "
                     "cdc_pub) cannot read the database",
                     f"the platform starts Postgres with `-c wal_level=logical`: `make up STACK={t.stack}` "
                     "re-creates a container that was started otherwise")
    return f"{user} logged in; wal_level is logical"
