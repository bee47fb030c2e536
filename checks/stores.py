"""The store stacks' questions (stacks/stores.py): ClickHouse, StarRocks's frontend, backend and
registration, CloudBeaver.
"""

from __future__ import annotations

import pymysql
import requests

from .plumbing import (CONNECT_TIMEOUT, Failed, READ_TIMEOUT, Target, cause_of, http, json_of, logs_of, nothing_answers,
                       question)


def _clickhouse(url: str, user: str, password: str) -> requests.Response:
    """SELECT 1 on ClickHouse's HTTP interface, as `user` with `password`."""
    return http("POST", f"{url}/", expect=None, data="SELECT 1",
                headers={"X-ClickHouse-User": user, "X-ClickHouse-Key": password})


@question("ch-server", asks="{clickhouseUrl}/ping answers Ok.; SELECT 1 as {clickhouseUser} with the password "
                            "returns 1; without it (where one is set), ClickHouse refuses")
def clickhouse(t: Target) -> str:
    url, user, password = t.output("clickhouseUrl"), t.output("clickhouseUser"), t.output("clickhousePassword")
    ping = http("GET", f"{url}/ping").text.strip()
    if ping != "Ok.":
        raise Failed(f"{url}/ping answered {ping[:80]!r}, not Ok.")
    answer = _clickhouse(url, user, password)
    # AUTHENTICATION_FAILED (a wrong password, or no such user), REQUIRED_PASSWORD
    if answer.headers.get("X-ClickHouse-Exception-Code") in ("516", "194"):
        raise Failed(f"ClickHouse refuses {user}'s password ({answer.status_code})",
                     f"the image writes clickhousePassword when the container starts: `make up STACK={t.stack}` "
                     "re-creates it with the stack's")
    if answer.status_code != 200 or answer.text.strip() != "1":
        raise Failed(f"SELECT 1 answered {answer.status_code} {answer.text.strip()[:160]!r}")
    if not password:
        return "Ok.; SELECT 1 returned 1 (clickhousePassword is empty: no password to refuse without)"
    if _clickhouse(url, user, "").status_code == 200:
        raise Failed(f"ClickHouse answers {user} without the password",
                     f"`make up STACK={t.stack}` re-creates it with clickhousePassword")
    return "Ok.; SELECT 1 returned 1; without the password: refused"


def _starrocks_backends(t: Target) -> list[dict]:
    """SHOW BACKENDS, logged in to the frontend's MySQL protocol port as the stack's user."""
    address, user = t.output("starrocksSqlAddress"), t.output("starrocksUser")
    host, _, port = address.rpartition(":")
    try:
        conn = pymysql.connect(host=host, port=int(port), user=user, password="", connect_timeout=CONNECT_TIMEOUT,
                               read_timeout=READ_TIMEOUT, write_timeout=READ_TIMEOUT,
                               cursorclass=pymysql.cursors.DictCursor)
    except pymysql.err.OperationalError as error:
        code, message = (error.args + (None, ""))[:2]
        if code == 2003:  # CR_CONN_HOST_ERROR: nothing answers
            raise nothing_answers(address, cause_of(Exception(message))) from None
        raise Failed(f"the frontend refuses {user}'s login: ({code}) {message}") from None
    with conn, conn.cursor() as cursor:
        cursor.execute("SHOW BACKENDS")
        return list(cursor.fetchall())


def _backend(row: dict) -> str:
    return f"{row.get('IP')}:{row.get('HeartbeatPort')}"


@question("starrocks-fe", asks="a MySQL-protocol login as {starrocksUser} at {starrocksSqlAddress}; SHOW BACKENDS "
                               "lists the backend alive")
def starrocks_frontend(t: Target) -> str:
    rows = t.shared.get("starrocks-backends", lambda: _starrocks_backends(t))
    if not rows:
        raise Failed("the frontend lists no backend: queries have nowhere to run",
                     f"the one-shot starrocks-register adds it: {logs_of('starrocks-register', t.stack)}; "
                     f"`make up STACK={t.stack}` runs it again")
    dead = [r for r in rows if str(r.get("Alive")).lower() != "true"]
    if dead:
        raise Failed(f"backend {_backend(dead[0])} is not alive ({dead[0].get('ErrMsg') or 'no heartbeat'})",
                     logs_of("starrocks-be", t.stack))
    return f"backend {', '.join(_backend(r) for r in rows)} alive"


@question("starrocks-register", asks="the frontend ({starrocksSqlAddress}) lists the backend the registration adds")
def starrocks_register(t: Target) -> str:
    rows = t.shared.get("starrocks-backends", lambda: _starrocks_backends(t))
    listed = {_backend(r) for r in rows}
    missing = [b for b in t.output("starrocksBackends") if b not in listed]
    if missing:
        raise Failed(f"the frontend does not list backend {', '.join(missing)} (it lists {sorted(listed) or 'none'})",
                     f"`make up STACK={t.stack}` runs the registration again (it adds only what is missing)")
    return f"backend {', '.join(t.output('starrocksBackends'))} registered"


@question("starrocks-be", asks="{starrocksBackendUrl}/api/health answers OK")
def starrocks_backend(t: Target) -> str:
    url = t.output("starrocksBackendUrl")
    health = json_of(http("GET", f"{url}/api/health"))
    if not isinstance(health, dict) or health.get("status") != "OK":
        raise Failed(f"{url}/api/health answered {str(health)[:120]}, not status OK")
    return "healthy"


@question("cloudbeaver", asks="{cloudbeaverUrl}/api/gql answers its serverConfig, set up (not waiting in its "
                              "configuration mode)")
def cloudbeaver(t: Target) -> str:
    url = t.output("cloudbeaverUrl")
    answer = json_of(http("POST", f"{url}/api/gql",
                          json={"query": "query { serverConfig { name version configurationMode } }"}))
    config = ((answer.get("data") if isinstance(answer, dict) else None) or {}).get("serverConfig")
    if not isinstance(config, dict):
        errors = answer.get("errors") if isinstance(answer, dict) else answer
        raise Failed(f"CloudBeaver's GraphQL API answered no serverConfig: {str(errors)[:160]}")
    if config.get("configurationMode"):
        raise Failed("CloudBeaver waits to be configured: its initial data (administrator cbadmin) was not applied",
                     "it reads initial-data.conf when its workspace is new; remove the volume cloudbeaver-workspace "
                     f"(its users and scripts go with it) and `make up STACK={t.stack}`")
    return f"{config.get('name')} (CloudBeaver {config.get('version')}) answers, set up"
