"""The Hive Metastore's start for real, where that is cheap: the metastore's database
script, as the one-shot metastore-db runs it, against a real Postgres from Debian's
packages (a second run changes nothing), Postgres's health check against it, and the
metastore's start script with stand-ins for Hive's schema tool and the image's
entrypoint.

Without Postgres (`apt-get install postgresql`) the Postgres tests skip, saying why;
with FHL_REQUIRE_DOCKER=1 (as .ci/run sets, and installs it) they fail instead.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from engine import free_port, need
from harness import PROJECT_DIR, run_program, stand_in
from realservers import PostgresCluster

PASSWORD = "pg 'S3cret' \"4711\""  # quotes and a space: passed as the program passes it
SCRIPT = "/setup/metastore-database.sql"


@pytest.fixture(scope="module")
def program():
    """The analytics stack with the Hive Metastore, as the program makes it."""
    return run_program({"catalog": "hive", "stacks": json.dumps(["analytics"]), "postgresPassword": PASSWORD},
                       secret_keys=("postgresPassword",))


@pytest.fixture
def postgres():
    """A throwaway Postgres whose superuser is db_user with the program's password, as the
    postgres image makes it, with the database factorhouse."""
    server = PostgresCluster("replica", password=PASSWORD)
    try:
        need(server.problem(), "Postgres from Debian's packages")
        need(server.start(), "Postgres from Debian's packages")
        yield server
    finally:
        server.stop()


def databases(server: PostgresCluster) -> str:
    """Every database with its owner, rights, encoding and settings."""
    return server.psql("postgres", "-c", "SELECT datname, pg_get_userbyid(datdba), datacl::text, "
                                         "pg_encoding_to_char(encoding), datallowconn FROM pg_database ORDER BY datname")


def run_the_one_shot(program, server: PostgresCluster, folder: Path) -> subprocess.CompletedProcess:
    """metastore-db's command with its settings and file, as the program gives them; only
    where Postgres is differs (this machine's, not the container `postgres`)."""
    script = folder / "metastore-database.sql"
    script.write_text(program.files("metastore-db")[SCRIPT])
    command = [str(script) if arg == SCRIPT else arg for arg in program.container("metastore-db")["command"]]
    env = {**os.environ, **program.env("metastore-db"), "PGHOST": "127.0.0.1", "PGPORT": str(server.port)}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_the_metastores_database_is_made_once_and_a_second_run_changes_nothing(program, postgres, tmp_path):
    before = databases(postgres)
    assert "metastore|" not in before
    first = run_the_one_shot(program, postgres, tmp_path)
    assert first.returncode == 0, first.stderr
    assert "CREATE DATABASE" in first.stdout
    made = databases(postgres)
    rows = {line.split("|")[0]: line for line in made.splitlines()}
    # owned by the platform's user, beside the user's database, which is as it was
    assert rows["metastore"].startswith("metastore|db_user|") and rows["factorhouse"] in before
    # the metastore's schema lives in it (here a stand-in table): a second run keeps it
    postgres.psql("metastore", "-c", 'CREATE TABLE "VERSION" ("VER_ID" bigint, "SCHEMA_VERSION" text)',
                  "-c", "INSERT INTO \"VERSION\" VALUES (1, '3.1.0')")
    second = run_the_one_shot(program, postgres, tmp_path)
    assert second.returncode == 0, second.stderr
    assert "CREATE DATABASE" not in second.stdout
    assert databases(postgres) == made
    assert postgres.psql("metastore", "-c", 'SELECT "SCHEMA_VERSION" FROM "VERSION"') == "3.1.0\n"


def test_the_one_shot_fails_when_postgres_refuses_it(program, postgres, tmp_path):
    wrong = run_program({"catalog": "hive", "stacks": json.dumps(["analytics"]), "postgresPassword": "not-it"},
                        secret_keys=("postgresPassword",))
    result = run_the_one_shot(wrong, postgres, tmp_path)
    assert result.returncode != 0 and "password authentication failed" in result.stderr
    assert "metastore|" not in databases(postgres)


def test_postgres_health_check_passes_once_it_answers_and_not_before(program, postgres):
    test = program.container("postgres")["healthcheck"]["tests"]
    assert test[0] == "CMD"
    env = {**os.environ, "PATH": f"{postgres.bin}:{os.environ['PATH']}", "PGPORT": str(postgres.port)}
    assert subprocess.run(test[1:], env=env, capture_output=True, timeout=30).returncode == 0
    closed = {**env, "PGPORT": str(free_port())}
    assert subprocess.run(test[1:], env=closed, capture_output=True, timeout=30).returncode != 0


# -- the metastore's start ---------------------------------------------------------------

START = PROJECT_DIR / "resources/analytics/hive/start-metastore.sh"


@pytest.mark.parametrize("schema_exists, resume", [(True, "true"), (False, "false")])
def test_the_entrypoint_makes_the_schema_only_when_it_does_not_exist(program, tmp_path, schema_exists, resume):
    """The image's entrypoint runs `schematool -initSchema` unless IS_RESUME is true, and
    Hive 3's schema tool fails on a schema that exists (kept in Postgres): the start
    script tells it which, by asking the schema tool."""
    hive_home = tmp_path / "hive"
    hive_home.mkdir()
    stand_in(hive_home, "schematool", f"#!/bin/sh\necho \"$@\" >> {tmp_path}/calls\nexit {0 if schema_exists else 1}\n")
    entrypoint = stand_in(tmp_path, "entrypoint.sh", '#!/bin/sh\necho "entrypoint IS_RESUME=$IS_RESUME"\n')
    script = START.read_text()
    assert script.count("exec /entrypoint.sh") == 1  # the image's entrypoint, as its ENTRYPOINT runs it
    (tmp_path / "start.sh").write_text(script.replace("exec /entrypoint.sh", f"exec {entrypoint}/entrypoint.sh"))
    env = {"PATH": os.environ["PATH"], "HIVE_HOME": str(hive_home), **program.env("hive-metastore")}
    assert program.container("hive-metastore")["entrypoints"] == ["bash", "/setup/start-metastore.sh"]
    result = subprocess.run(["bash", str(tmp_path / "start.sh")], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"entrypoint IS_RESUME={resume}"
    assert (tmp_path / "calls").read_text() == "-dbType postgres -info\n"
