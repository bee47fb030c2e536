"""The lineage stack of docs/services.md, under mocks: Marquez's Postgres, API and web UI,
and OpenLineage configured for Connect and Flink exactly when Marquez runs."""

import json

import pytest
import yaml

from harness import PROJECT_DIR, check_services, is_secret, run_program

RESOURCES = PROJECT_DIR / "resources"
OTHERS = ["kpow", "flex", "analytics", "pinot", "telemetry"]
FLINK = ["jobmanager", "taskmanager-1", "taskmanager-2", "taskmanager-3", "sql-gateway"]
OPENLINEAGE = (RESOURCES / "lineage/openlineage.yml").read_text()


def lineage(*others, **more) -> dict[str, str]:
    return {"stacks": json.dumps([*others, "lineage"]), **more}


@pytest.fixture(scope="module")
def alone():
    return run_program(lineage())


def test_the_lineage_services(alone):
    check_services(alone, [
        ("marquez-db", "postgres:14", "marquez_db", [("127.0.0.1", 5433, 5432)]),
        ("marquez-api", "marquezproject/marquez:0.51.1", "marquez-api",
         [("127.0.0.1", 5002, 5000), ("127.0.0.1", 5001, 5001)]),
        ("marquez-web", "marquezproject/marquez-web:0.51.1", "marquez-web", [("127.0.0.1", 3003, 3000)])])


def test_marquez_db(alone):
    db = alone.container("marquez-db")
    assert db["command"] == ["postgres", "-c", "config_file=/etc/postgresql/postgresql.conf"]
    assert alone.env("marquez-db") == {"POSTGRES_USER": "marquez", "POSTGRES_PASSWORD": "marquez", "POSTGRES_DB": "marquez"}
    assert alone.secret("marquez-db", "envs")
    conf = alone.files("marquez-db")["/etc/postgresql/postgresql.conf"]
    assert conf == (RESOURCES / "lineage/marquez-db/postgresql.conf").read_text()
    assert "listen_addresses = '*'" in conf and "shared_preload_libraries = 'pg_stat_statements'" in conf
    assert alone.mounts("marquez-db")["/var/lib/postgresql/data"]["volumeName"] == "marquez-db-data"
    assert alone.one("docker:index/volume:Volume", "volume-marquez-db-data").retain_on_delete
    # upstream's Postgres check, over TCP (never the first start's socket-only server)
    assert db["healthcheck"] == {"tests": ["CMD", "pg_isready", "-h", "127.0.0.1", "-U", "marquez", "-d", "marquez"],
                                 "interval": "2s", "timeout": "2s", "retries": 10, "startPeriod": "3s"}


def test_marquez_api(alone):
    api = alone.container("marquez-api")
    # the image's own entrypoint: the engine starts it once its database is healthy
    assert "entrypoints" not in api.inputs and "command" not in api.inputs
    assert alone.waits_until_healthy(api, "marquez-db")
    env = alone.env("marquez-api")
    assert env == {"MARQUEZ_PORT": "5000", "MARQUEZ_ADMIN_PORT": "5001", "MARQUEZ_CONFIG": "/usr/src/app/marquez.dev.yml",
                   "POSTGRES_HOST": "marquez-db", "POSTGRES_PORT": "5432", "POSTGRES_DB": "marquez",
                   "POSTGRES_USER": "marquez", "POSTGRES_PASSWORD": "marquez", "SEARCH_ENABLED": "false"}
    assert alone.secret("marquez-api", "envs")
    config = yaml.safe_load(alone.files("marquez-api")["/usr/src/app/marquez.dev.yml"])
    assert config["server"]["applicationConnectors"][0]["port"] == "${MARQUEZ_PORT:-5000}"
    assert config["server"]["adminConnectors"][0]["port"] == "${MARQUEZ_ADMIN_PORT:-5001}"
    assert config["db"] == {"driverClass": "org.postgresql.Driver",
                            "url": "jdbc:postgresql://${POSTGRES_HOST:-localhost}:${POSTGRES_PORT:-5432}/${POSTGRES_DB:-marquez}",
                            "user": "${POSTGRES_USER:-marquez}", "password": "${POSTGRES_PASSWORD}"}
    assert config["migrateOnStartup"] is True and config["search"]["enabled"] == "${SEARCH_ENABLED:-false}"
    assert api["healthcheck"] == {"tests": ["CMD", "curl", "-f", "http://localhost:5000/api/v1/namespaces"],
                                  "interval": "5s", "timeout": "5s", "retries": 12, "startPeriod": "10s"}


def test_marquez_web(alone):
    web = alone.container("marquez-web")
    assert alone.env("marquez-web") == {"MARQUEZ_HOST": "marquez-api", "MARQUEZ_PORT": "5000", "WEB_PORT": "3000"}
    assert alone.waits_until_healthy(web, "marquez-api")
    assert web["healthcheck"]["tests"] == ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:3000/healthcheck"]
    assert alone.files("marquez-web") == {} and alone.mounts("marquez-web") == {}


def test_outputs(alone):
    assert {k: alone.outputs[k] for k in ("marquezUrl", "marquezAdminUrl", "marquezWebUrl")} == {
        "marquezUrl": "http://127.0.0.1:5002", "marquezAdminUrl": "http://127.0.0.1:5001",
        "marquezWebUrl": "http://127.0.0.1:3003"}
    assert alone.outputs["services"]["marquez-api"] == {
        "stack": "lineage", "workload": "marquez-api", "oneShot": False,
        "addresses": ["127.0.0.1:5002", "127.0.0.1:5001"]}


def openlineage_anywhere(run) -> list[str]:
    """Every setting or file of any container that configures OpenLineage or names
    Marquez's API."""
    found = []
    for name in run.containers:
        found += [f"{name} env {k}" for k, v in run.env(name).items()
                  if "OPENLINEAGE" in k or "marquez-api" in v or k == "KAFKA_BOOTSTRAP"]
        found += [f"{name} file {f}" for f, text in run.files(name).items()
                  if "openlineage" in f or "marquez-api" in text]
    return found


COMBINATIONS = [(), *((other,) for other in OTHERS), tuple(OTHERS)]


@pytest.mark.parametrize("others", COMBINATIONS, ids=["+".join(c) or "alone" for c in COMBINATIONS])
def test_openlineage_is_configured_exactly_when_marquez_runs(others):
    without = run_program({"stacks": json.dumps(list(others) or ["pinot"])})
    assert openlineage_anywhere(without) == []
    run = run_program(lineage(*others))
    expected = {"marquez-web"}  # the web UI serves the API's answers
    if "kpow" in others:
        expected |= {"connect"}
        assert {k: v for k, v in run.env("connect").items() if k.startswith("OPENLINEAGE") or k == "KAFKA_BOOTSTRAP"} == {
            "OPENLINEAGE_URL": "http://marquez-api:5000", "OPENLINEAGE_NAMESPACE": "fh-local",
            "KAFKA_BOOTSTRAP": "kafka-1:19092"}
        assert run.files("connect") == {"/etc/kafka-connect/openlineage.yml": OPENLINEAGE}
    if "flex" in others:
        expected |= set(FLINK)
        for name in FLINK:
            env = run.env(name)
            assert {k: env[k] for k in env if k.startswith("OPENLINEAGE")} == {
                "OPENLINEAGE_CONFIG": "/opt/flink/conf/openlineage.yml", "OPENLINEAGE_NAMESPACE": "fh-local"}
            assert run.files(name)["/opt/flink/conf/openlineage.yml"] == OPENLINEAGE
    assert {entry.split()[0] for entry in openlineage_anywhere(run)} == expected
    assert yaml.safe_load(OPENLINEAGE) == {"transport": {"type": "http", "url": "http://marquez-api:5000"}}
    # Flex and Kpow are not told about lineage
    for name in ("kpow", "flex"):
        if name in run.containers:
            assert not [e for e in openlineage_anywhere(run) if e.startswith(f"{name} ")]


def test_lineage_reaches_marquez_in_the_lite_profile_too():
    run = run_program(lineage("kpow", "flex", profile="lite", kafkaMode="kraft"))
    assert run.env("connect")["KAFKA_BOOTSTRAP"] == "kafka-1:19092" and "kafka-1" in run.containers
    assert run.env("taskmanager-1")["OPENLINEAGE_CONFIG"] == "/opt/flink/conf/openlineage.yml"


def test_the_marquez_password_is_a_secret_given_to_the_database_and_the_api_only():
    run = run_program(lineage("kpow", "flex", marquezPassword="m-S3cret-4711"), secret_keys=("marquezPassword",))
    assert run.env("marquez-db")["POSTGRES_PASSWORD"] == run.env("marquez-api")["POSTGRES_PASSWORD"] == "m-S3cret-4711"
    holders = set()
    for r in run.registrations:
        if "m-S3cret-4711" in json.dumps(r.inputs):
            holders.add(r.name)
            assert is_secret(r.raw["envs"]), r.name
    assert holders == {"marquez-db", "marquez-api"}


def as_marquez_reads(config_text: str, env: dict[str, str]) -> dict:
    """Marquez's configuration as Marquez reads it: `${NAME}` and `${NAME:-default}` put in
    as text (Dropwizard's environment substitution), then the YAML parsed."""
    import re
    text = re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: env.get(m.group(1), m.group(2) or ""), config_text)
    return yaml.safe_load(text)


@pytest.mark.parametrize("password", ["s3cret #1", "a: b", "*star", "%pct", "@at", "!bang", "{brace", "null", "~",
                                      'dq"uote', "back\\slash", "  spaced  "])
def test_any_allowed_marquez_password_reaches_marquez_as_it_is(password):
    run = run_program(lineage(marquezPassword=password), secret_keys=("marquezPassword",))
    read = as_marquez_reads(run.files("marquez-api")["/usr/src/app/marquez.dev.yml"], run.env("marquez-api"))
    assert read["db"]["password"] == password
    assert run.env("marquez-db")["POSTGRES_PASSWORD"] == password


@pytest.mark.parametrize("password, refused", [("it's", "'"), ("a${HOME}b", "${")])
def test_a_marquez_password_that_cannot_reach_marquez_is_refused_in_one_line(password, refused):
    from settings import SettingsError
    with pytest.raises(SettingsError) as caught:
        run_program(lineage(marquezPassword=password))
    assert str(caught.value) == (f"invalid config marquezPassword: {refused} is not allowed (the image writes the "
                                 f"password into a YAML file, quoted, as it is); choose another")


def test_a_new_marquez_database_makes_the_api_anew(alone):
    # the API makes its schema when it starts: a new database needs it again
    labels = {l["label"]: l["value"] for l in alone.container("marquez-api")["labels"]}
    assert labels["dev.factorhouse.local.replace-when"] == "marquez-db-id"
