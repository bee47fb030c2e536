"""The metadata stack's questions (stacks/metadata.py; docs/check.md, "Metadata"):

- omt-server: its version (GET /api/v1/system/version, which needs no login) and the
  admin port's Dropwizard health checks (GET /healthcheck: every check healthy, 500 when
  one is not);
- omt-migrate: the server, which starts only on a migrated database, reports its version;
- omt-setup: the administrator logs in with `openmetadataPassword` (POST
  /api/v1/users/login, the password base64-encoded) and every service the set-up gives
  OpenMetadata is there (GET /api/v1/services/KIND/name/NAME);
- omt-es: Elasticsearch's GET /_cluster/health is green or yellow (one node: replicas
  cannot be placed, so yellow is its healthy state);
- omt-db: user omt_user logs in to database omt_db (psycopg);
- omt-ingestion: Airflow 3.1's GET /api/v2/monitor/health (no login) says its metadata
  database and scheduler are healthy (Airflow 2's /health answers 404 in Airflow 3).
"""

from __future__ import annotations

import base64

from .plumbing import Failed, Target, http, json_of, postgres_row, question


def _version(t: Target) -> str:
    body = json_of(http("GET", f"{t.output('openmetadataUrl')}/api/v1/system/version"))
    version = body.get("version") if isinstance(body, dict) else None
    if not version:
        raise Failed(f"{t.output('openmetadataUrl')}/api/v1/system/version answered without a version: {body!r:.120}")
    return str(version)


@question("omt-server", asks="{openmetadataUrl}/api/v1/system/version answers; every health check of "
                             "{openmetadataAdminUrl}/healthcheck passes")
def omt_server(t: Target) -> str:
    version = t.shared.get("omt-version", lambda: _version(t))
    url = f"{t.output('openmetadataAdminUrl')}/healthcheck"
    answer = http("GET", url, expect=None)
    checks = json_of(answer)
    failing = sorted(name for name, c in (checks if isinstance(checks, dict) else {}).items()
                     if not (isinstance(c, dict) and c.get("healthy")))
    if answer.status_code != 200 or failing or not isinstance(checks, dict):
        why = "; ".join(f"{n}: {(checks[n] or {}).get('message', 'unhealthy')}" for n in failing) \
            if failing else f"status {answer.status_code}"
        raise Failed(f"OpenMetadata {version}'s health checks fail ({why})",
                     "the server cannot reach its database or Elasticsearch: `make ps` says which is down")
    return f"OpenMetadata {version}; {len(checks)} health checks pass"


@question("omt-migrate", asks="the server, which starts only on a migrated database, answers its version at "
                              "{openmetadataUrl}")
def omt_migrate(t: Target) -> str:
    return f"the database is migrated for OpenMetadata {t.shared.get('omt-version', lambda: _version(t))}"


@question("omt-setup", asks="{openmetadataUser} logs in with openmetadataPassword; OpenMetadata has every service "
                            "the set-up gives it")
def omt_setup(t: Target) -> str:
    url, user = t.output("openmetadataUrl"), t.output("openmetadataUser")
    password = base64.b64encode(str(t.output("openmetadataPassword")).encode()).decode()
    answer = http("POST", f"{url}/api/v1/users/login", expect=None, json={"email": user, "password": password})
    if answer.status_code in (400, 401, 403):
        raise Failed(f"OpenMetadata refuses {user}'s login ({answer.status_code})",
                     "the server keeps the password it has: set openmetadataPassword to it, or change it in "
                     "OpenMetadata (Settings > Users) and then the setting")
    if answer.status_code != 200:
        raise Failed(f"POST {url}/api/v1/users/login answered {answer.status_code}")
    body = json_of(answer)
    token = body.get("accessToken") if isinstance(body, dict) else None
    if not token:
        raise Failed(f"POST {url}/api/v1/users/login answered without an accessToken")
    services = t.output("openmetadataServices")
    missing = [name for name, kind in sorted(services.items())
               if http("GET", f"{url}/api/v1/services/{kind}/name/{name}", expect=None,
                       headers={"Authorization": f"Bearer {token}"}).status_code != 200]
    if missing:
        raise Failed(f"OpenMetadata lacks the service(s) {', '.join(missing)}",
                     "`make up` runs omt-setup again, which gives them")
    return f"{user} logs in; services: {', '.join(sorted(services)) or 'none (no other stack to catalogue)'}"


@question("omt-es", asks="{elasticsearchUrl}/_cluster/health is green or yellow")
def omt_es(t: Target) -> str:
    body = json_of(http("GET", f"{t.output('elasticsearchUrl')}/_cluster/health"))
    status = body.get("status") if isinstance(body, dict) else None
    if status not in ("green", "yellow"):
        raise Failed(f"Elasticsearch's cluster is {status or 'of no status'}",
                     "its indexes are unavailable: `make logs S=omt-es` says why (memory, disk)")
    return f"cluster {body.get('cluster_name', '?')} is {status}, {body.get('number_of_nodes', '?')} node(s)"


@question("omt-db", asks="user omt_user logs in to database omt_db at {address}")
def omt_db(t: Target) -> str:
    user, database = postgres_row(
        t, t.output("openmetadataDbDsn"), "SELECT current_user, current_database()",
        "OpenMetadata's Postgres keeps the password its data volume was first made with: set openmetadataDbPassword "
        "back, or change it in Postgres (ALTER USER omt_user PASSWORD ...)")
    return f"{user} logged in to database {database}"


@question("omt-ingestion", asks="{airflowUrl}/api/v2/monitor/health: Airflow's metadata database and scheduler "
                                "are healthy")
def omt_ingestion(t: Target) -> str:
    body = json_of(http("GET", f"{t.output('airflowUrl')}/api/v2/monitor/health"))
    parts = {k: ((body or {}).get(k) or {}).get("status") for k in ("metadatabase", "scheduler")} \
        if isinstance(body, dict) else {}
    bad = [f"{k} {v or 'missing'}" for k, v in parts.items() if v != "healthy"] or ([] if parts else ["no answer"])
    if bad:
        raise Failed(f"Airflow says: {', '.join(bad)}", "`make logs S=omt-ingestion` says why")
    return "Airflow's metadata database and scheduler are healthy"
