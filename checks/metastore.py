"""The Hive Metastore's questions (catalog hive, stacks/metastore.py): its database set-up, the
metastore over Thrift, and Spark's history server.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from pymetastore.hive_metastore import ThriftHiveMetastore
from thrift.protocol.TBinaryProtocol import TBinaryProtocol
from thrift.Thrift import TException
from thrift.transport import TSocket, TTransport

from .plumbing import (CONNECT_TIMEOUT, Failed, READ_TIMEOUT, Target, cause_of, hive_catalog, http, json_of,
                       nothing_answers, postgres_row, question)


# the Thrift library logs a failed connection as an error of its own: the row says it
logging.getLogger("thrift").addHandler(logging.NullHandler())
logging.getLogger("thrift").propagate = False


@question("spark-iceberg", when=hive_catalog,
          asks="the Spark history server ({sparkHistoryUrl}/api/v1/applications) lists the applications it keeps")
def spark_history(t: Target) -> str:
    url = t.output("sparkHistoryUrl")
    applications = json_of(http("GET", f"{url}/api/v1/applications"))
    if not isinstance(applications, list):
        raise Failed(f"{url}/api/v1/applications answered {str(applications)[:120]}, not a list of applications")
    return f"the history server lists {len(applications)} application(s)"


@question("metastore-db", asks="the database its set-up makes ({metastoreDatabase}) exists in the platform's Postgres")
def metastore_database(t: Target) -> str:
    database = t.output("metastoreDatabase")
    [owner] = postgres_row(t, t.output("postgresDsn"),
                        "SELECT (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s)",
                        "the set-up logs in as db_user with postgresPassword: set it back, or change it in Postgres",
                        (database,))
    if owner is None:
        raise Failed(f"database {database} does not exist in the platform's Postgres",
                     f"`make up STACK={t.stack}` runs the set-up again (it makes only what is missing)")
    return f"database {database} exists (owner {owner})"


@question("hive-metastore", asks="a Thrift call at {hiveMetastoreUri}, get_all_databases, lists the databases")
def hive_metastore(t: Target) -> str:
    uri = t.output("hiveMetastoreUri")
    host, _, port = urlsplit(uri).netloc.rpartition(":")
    # as the metastore's clients (Spark, Flink) speak: binary protocol, buffered transport
    sock = TSocket.TSocket(host, int(port))
    sock.setTimeout(CONNECT_TIMEOUT * 1000)  # milliseconds
    transport = TTransport.TBufferedTransport(sock)
    try:
        transport.open()
    except TTransport.TTransportException as error:
        raise nothing_answers(f"{host}:{port}", cause_of(error.inner or error)) from None
    sock.setTimeout(READ_TIMEOUT * 1000)
    try:
        databases = ThriftHiveMetastore.Client(TBinaryProtocol(transport)).get_all_databases()
    except TTransport.TTransportException as error:
        raise Failed(f"the metastore at {host}:{port} takes connections but gives no Thrift answer ({error})") \
            from None
    except (TException, OSError) as error:
        raise Failed(f"the metastore at {host}:{port} takes connections but its get_all_databases failed: "
                     f"{type(error).__name__}: {error}") from None
    finally:
        transport.close()
    if "default" not in databases:
        raise Failed(f"the metastore lists no database default ({databases}): its schema was not made",
                     "its start makes the schema (schematool) where it is missing: read its log")
    return f"{len(databases)} database(s): {', '.join(sorted(databases))}"
