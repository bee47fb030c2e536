"""The lineage stack's questions (stacks/lineage.py): Marquez's API, its UI and its Postgres.
"""

from __future__ import annotations

from .plumbing import Failed, Target, Unreachable, http, json_of, logs_of, postgres_row, question


def _namespaces(url: str) -> list[str]:
    """The namespaces Marquez's API at `url` lists; Failed without namespace default,
    which Marquez makes when it starts."""
    listed = json_of(http("GET", f"{url}/api/v1/namespaces"))
    names = [n.get("name") for n in (listed.get("namespaces") if isinstance(listed, dict) else None) or []]
    if "default" not in names:
        raise Failed(f"{url}/api/v1/namespaces lists no namespace default ({names})")
    return names


@question("marquez-api", asks="{marquezUrl}/api/v1/namespaces lists namespace default; {marquezAdminUrl}/healthcheck: "
                              "every check healthy")
def marquez_api(t: Target) -> str:
    names = _namespaces(t.output("marquezUrl"))
    url = t.output("marquezAdminUrl")
    checks = json_of(http("GET", f"{url}/healthcheck", expect=(200, 500)))  # 500: one is unhealthy
    if not isinstance(checks, dict) or not checks:
        raise Failed(f"{url}/healthcheck answered {str(checks)[:120]}, not Marquez's health checks")
    sick = sorted(n for n, c in checks.items() if not (isinstance(c, dict) and c.get("healthy") is True))
    if sick:
        raise Failed(f"Marquez's health check {sick[0]} fails: {(checks[sick[0]] or {}).get('message', '?')}")
    return f"{len(names)} namespace(s); health checks {', '.join(sorted(checks))} healthy"


@question("marquez-web", asks="{marquezWebUrl} serves the UI, and Marquez's API through it "
                              "({marquezWebUrl}/api/v1/namespaces)")
def marquez_web(t: Target) -> str:
    url = t.output("marquezWebUrl")
    page = http("GET", f"{url}/")
    if "<html" not in page.text[:2000].lower():
        raise Failed(f"{url}/ answered {page.headers.get('Content-Type', '?')}, not the UI's page")
    try:
        names = _namespaces(url)
    except Unreachable:
        raise
    except Failed as failed:
        raise Failed(f"the UI answers, but not the API through it: {failed.cause}",
                     logs_of("marquez-api", t.stack)) from None
    return f"the UI answers; through it, the API lists {len(names)} namespace(s)"


@question("marquez-db", asks="user marquez logs in to database marquez at {address}")
def marquez_db(t: Target) -> str:
    user, database = postgres_row(
        t, t.output("marquezDbDsn"), "SELECT current_user, current_database()",
        "Marquez's Postgres keeps the password its data volume was first made with: set marquezPassword back, or "
        "change it in Postgres (ALTER USER marquez PASSWORD ...)")
    return f"{user} logged in to database {database}"
