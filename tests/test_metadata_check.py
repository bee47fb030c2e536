"""`make check`'s questions of the metadata stack (checks/metadata.py), each
against a local server that answers as the real one does and one that does not; the
database's login against a real Postgres (tests/realservers.py)."""

from __future__ import annotations

import json

import psycopg
import pytest

import fake_metadata as fake
import realservers
from test_check import later, point, rows, running
import checks
from commands import check

STACKS = {"stacks": json.dumps(["kpow", "analytics", "metadata"])}


def test_every_metadata_service_has_its_question_and_the_outputs_it_reads_are_exported():
    from harness import run_program
    outputs = run_program(STACKS).outputs
    for name in ("omt-db", "omt-es", "omt-migrate", "omt-server", "omt-setup", "omt-ingestion"):
        q = checks.question_for(name, outputs)
        assert q is not None and q.key == name, name
    assert outputs["openmetadataServices"] == {"kafka": "messagingServices", "postgres": "databaseServices",
                                               "iceberg": "databaseServices"}


def row_of(name: str, server, *url_keys: str, **outputs_more) -> check.Row:
    outputs = later(STACKS, name)
    outputs.update(outputs_more)
    return rows(point(outputs, name, server.address, *url_keys))[name]


@pytest.fixture
def om():
    server = fake.OpenMetadata(password="Own-pw-42!")
    yield server
    server.close()


def test_the_server_answers_its_version_and_passes_its_health_checks(om):
    row = row_of("omt-server", om, "openmetadataUrl", "openmetadataAdminUrl")
    assert row.result == check.PASS and row.found == "OpenMetadata 1.11.4; 2 health checks pass", row
    sick = fake.OpenMetadata(variant="unhealthy")
    try:
        row = row_of("omt-server", sick, "openmetadataUrl", "openmetadataAdminUrl")
        assert row.result == check.FAIL
        assert row.cause == "OpenMetadata 1.11.4's health checks fail (OpenMetadataServerHealthCheck: Search is not reachable)"
    finally:
        sick.close()
    blank = fake.OpenMetadata(variant="no-version")
    try:
        row = row_of("omt-migrate", blank, "openmetadataUrl")
        assert row.result == check.FAIL and "answered without a version" in row.cause
    finally:
        blank.close()


def test_the_migration_is_asked_through_the_servers_version(om):
    row = row_of("omt-migrate", om, "openmetadataUrl")
    assert row.result == check.PASS and row.found == "the database is migrated for OpenMetadata 1.11.4", row


def test_the_set_up_is_asked_for_the_login_and_every_catalogued_service(om):
    token = "t"
    om.tokens.add(token)
    for kind, name in (("messagingServices", "kafka"), ("databaseServices", "postgres"),
                       ("databaseServices", "iceberg")):
        om.services[(kind, name)] = {"name": name}
    row = row_of("omt-setup", om, "openmetadataUrl", openmetadataPassword="Own-pw-42!")
    assert row.result == check.PASS, row
    assert row.found == "admin@factorhouse.io logs in; services: iceberg, kafka, postgres"
    del om.services[("databaseServices", "iceberg")]
    row = row_of("omt-setup", om, "openmetadataUrl", openmetadataPassword="Own-pw-42!")
    assert row.result == check.FAIL and row.cause == "OpenMetadata lacks the service(s) iceberg"
    assert "omt-setup again" in row.wayOut
    wrong = row_of("omt-setup", om, "openmetadataUrl", openmetadataPassword="admin")
    assert wrong.result == check.FAIL and wrong.cause == "OpenMetadata refuses admin@factorhouse.io's login (401)"
    assert "openmetadataPassword" in wrong.wayOut


@pytest.mark.parametrize("status, ok", [("green", True), ("yellow", True), ("red", False)])
def test_elasticsearchs_cluster_health(status, ok):
    server = fake.Elasticsearch(status)
    try:
        row = row_of("omt-es", server, "elasticsearchUrl")
    finally:
        server.close()
    if ok:
        assert row.result == check.PASS and row.found == f"cluster docker-cluster is {status}, 1 node(s)", row
    else:
        assert row.result == check.FAIL and row.cause == "Elasticsearch's cluster is red"


@pytest.mark.parametrize("scheduler, metadatabase, cause", [
    ("healthy", "healthy", None), ("unhealthy", "healthy", "Airflow says: scheduler unhealthy"),
    ("unhealthy", "unhealthy", "Airflow says: metadatabase unhealthy, scheduler unhealthy")])
def test_airflows_health(scheduler, metadatabase, cause):
    server = fake.Airflow(scheduler, metadatabase)
    try:
        row = row_of("omt-ingestion", server, "airflowUrl")
    finally:
        server.close()
    assert ("GET", "/api/v2/monitor/health") in server.requests  # Airflow 3.1's, not 2's /health
    if cause is None:
        assert row.result == check.PASS and row.found == "Airflow's metadata database and scheduler are healthy"
    else:
        assert row.result == check.FAIL and row.cause == cause


def test_a_service_that_is_not_airflow_fails(om):
    row = row_of("omt-ingestion", om, "airflowUrl")
    assert row.result == check.FAIL and "404" in row.cause


@pytest.fixture(scope="module")
def omt_postgres():
    cluster = realservers.PostgresCluster("replica", password="omt check pw", user="omt_user", database="omt_db")
    yield from running(cluster, "Postgres from Debian's packages")


def db_row(dsn: str) -> check.Row:
    outputs = later(STACKS, "omt-db")
    outputs["openmetadataDbDsn"] = dsn
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    return rows(point(outputs, "omt-db", f"{info['host']}:{info['port']}"))["omt-db"]


def test_the_database_takes_omt_users_login(omt_postgres):
    row = db_row(omt_postgres.dsn)
    assert row.result == check.PASS and row.found == "omt_user logged in to database omt_db", row
    wrong = db_row(omt_postgres.dsn.replace("omt%20check%20pw", "omt_pass"))
    assert wrong.result == check.FAIL and "refuses omt_user's login (password authentication failed)" in wrong.cause
    assert "openmetadataDbPassword" in wrong.wayOut
