"""The Flink stack's questions (stacks/flink.py): the jobmanager and every taskmanager share one
list of taskmanagers; the SQL gateway runs SELECT 1.
"""

from __future__ import annotations

import time
from urllib.parse import urljoin

from .plumbing import Failed, PREFIX, Target, http, json_of, question


def _taskmanagers(t: Target) -> str:
    """The jobmanager lists as many taskmanagers as the stack runs, each with its slots."""
    url, slots = t.output("flinkUiUrl"), t.output("flinkTaskSlots")
    expected = len(t.services_like("taskmanager"))
    listed = json_of(http("GET", f"{url}/taskmanagers")).get("taskmanagers") or []
    if len(listed) != expected:
        raise Failed(f"the jobmanager lists {len(listed)} taskmanagers; the stack runs {expected}",
                     "a taskmanager that is not listed has stopped or cannot reach the jobmanager: read "
                     "the taskmanagers' logs")
    wrong = [tm for tm in listed if tm.get("slotsNumber") != slots]
    if wrong:
        raise Failed(f"taskmanager {wrong[0].get('id')} offers {wrong[0].get('slotsNumber')} slots, not the "
                     f"{slots} its configuration sets")
    free = sum(tm.get("freeSlots", 0) for tm in listed)
    return f"{expected} taskmanagers with {slots} slots each ({free} free)"


@question("jobmanager", asks="{flinkUiUrl}/taskmanagers lists every taskmanager with its {flinkTaskSlots} slots")
def jobmanager(t: Target) -> str:
    return t.shared.get("flink-taskmanagers", lambda: _taskmanagers(t))


@question("taskmanager", asks="the jobmanager ({flinkUiUrl}/taskmanagers) lists it with its {flinkTaskSlots} slots")
def taskmanager(t: Target) -> str:
    return t.shared.get("flink-taskmanagers", lambda: _taskmanagers(t))


@question("sql-gateway", asks="{sqlGatewayUrl}: a session opens, runs SELECT 1, and is closed")
def sql_gateway(t: Target) -> str:
    url = t.output("sqlGatewayUrl")
    session = json_of(http("POST", f"{url}/v1/sessions", json={"sessionName": f"{PREFIX}{t.stack}"}))
    handle = session.get("sessionHandle")
    if not handle:
        raise Failed(f"POST {url}/v1/sessions answered no sessionHandle: {session}")
    try:
        operation = json_of(http("POST", f"{url}/v1/sessions/{handle}/statements", json={"statement": "SELECT 1"}))
        rows = _results(url, f"/v1/sessions/{handle}/operations/{operation.get('operationHandle')}/result/0")
    finally:
        http("DELETE", f"{url}/v1/sessions/{handle}")
    if [1] not in rows:
        raise Failed(f"SELECT 1 returned {rows} instead of [1]")
    return "SELECT 1 returned 1; session closed"


SQL_DEADLINE = 30.0  # seconds for SELECT 1: a job on the cluster, which a cold JVM takes seconds to run


def _results(url: str, path: str) -> list:
    """Every row of a statement's result, fetched page by page until its end."""
    rows, deadline = [], time.monotonic() + SQL_DEADLINE
    while path:
        if time.monotonic() > deadline:
            raise Failed(f"SELECT 1 gave no complete result within {SQL_DEADLINE:.0f}s",
                         "are the taskmanagers' slots taken by other jobs? (the jobmanager's UI shows them)")
        page = json_of(http("GET", urljoin(url + "/", path.lstrip("/"))))
        kind = page.get("resultType")
        if kind == "NOT_READY":
            time.sleep(0.2)
            continue
        rows += [row.get("fields") for row in (page.get("results") or {}).get("data") or []]
        path = None if kind == "EOS" else page.get("nextResultUri")
    return rows
