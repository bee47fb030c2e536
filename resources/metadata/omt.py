"""OpenMetadata's administrator and catalogue, as the metadata stack sets them up.

Run with the ingestion image's python3 (standard library only):

  omt.py setup SERVICES_JSON   the one-shot omt-setup: log in as the administrator with
                               OM_ADMIN_PASSWORD (or, while the server still has its first
                               password, with that one, and change it to OM_ADMIN_PASSWORD),
                               then create or update every service of SERVICES_JSON
                               ([{"kind": "databaseServices", "body": {...}}, ...]) with PUT,
                               which OpenMetadata treats as "create or update": running it
                               again changes nothing.
  omt.py token                 print the administrator's access token (a JWT), for the
                               Airflow lineage backend of the ingestion container.

Environment: OM_API (http://omt-server:8585/api), OM_ADMIN_EMAIL, OM_ADMIN_PASSWORD,
OM_FIRST_PASSWORD (the server's first password, `admin`). Exits 1 with one line naming
the cause when the server refuses or does not answer.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import urllib.error
import urllib.request

TIMEOUT = 30  # seconds for one answer


class SetupFailed(Exception):
    """One line: what failed and why."""


def call(method: str, url: str, body: object = None, token: str = "") -> tuple[int, object]:
    """One JSON request: (status, parsed body or text)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as error:
        raise SetupFailed(f"{method} {url}: no answer ({getattr(error, 'reason', error)})") from None
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, text


def login(api: str, email: str, password: str) -> str:
    """The access token of a login, or "" when the server refuses the password. The
    server takes the password base64-encoded."""
    encoded = base64.b64encode(password.encode()).decode()
    status, body = call("POST", f"{api}/v1/users/login", {"email": email, "password": encoded})
    if status == 200 and isinstance(body, dict) and body.get("accessToken"):
        return body["accessToken"]
    if status in (400, 401, 403):
        return ""
    raise SetupFailed(f"POST {api}/v1/users/login answered {status}: {str(body)[:160]}")


def admin_token(api: str, email: str, password: str, first: str) -> str:
    """Log in with `password`; if the server refuses it and still takes its first password,
    change the administrator's password to `password` first."""
    token = login(api, email, password)
    if token:
        return token
    if password == first or not (token := login(api, email, first)):
        raise SetupFailed(f"OpenMetadata refuses {email}'s password (openmetadataPassword): it was changed "
                          "elsewhere; set openmetadataPassword to the password the server has")
    name = email.split("@", 1)[0]
    status, body = call("PUT", f"{api}/v1/users/changePassword",
                        {"username": name, "oldPassword": first, "newPassword": password,
                         "confirmPassword": password, "requestType": "SELF"}, token)
    if status != 200:
        raise SetupFailed(f"OpenMetadata did not change {email}'s password ({status}: {str(body)[:160]})")
    token = login(api, email, password)
    if not token:
        raise SetupFailed(f"OpenMetadata refuses {email}'s new password right after changing it")
    return token


def register(api: str, token: str, services: list[dict]) -> list[str]:
    """PUT every service (create or update); the names, in order."""
    done = []
    for service in services:
        url = f"{api}/v1/services/{service['kind']}"
        status, body = call("PUT", url, service["body"], token)
        if status not in (200, 201):
            raise SetupFailed(f"PUT {url} ({service['body']['name']}) answered {status}: {str(body)[:160]}")
        done.append(service["body"]["name"])
    return done


def main(argv: list[str]) -> int:
    env = os.environ
    api = env.get("OM_API", "http://omt-server:8585/api").rstrip("/")
    try:
        email, password = env["OM_ADMIN_EMAIL"], env["OM_ADMIN_PASSWORD"]
        first = env.get("OM_FIRST_PASSWORD", "admin")
        if argv[:1] == ["token"] and len(argv) == 1:
            token = login(api, email, password)
            if not token:
                raise SetupFailed(f"OpenMetadata refuses {email}'s password (openmetadataPassword)")
            print(token)
            return 0
        if argv[:1] == ["setup"] and len(argv) == 2:
            with open(argv[1]) as f:
                services = json.load(f)
            token = admin_token(api, email, password, first)
            names = register(api, token, services)
            print(f"omt-setup: {email} logs in; services: {', '.join(names) or 'none'}")
            return 0
    except KeyError as missing:
        print(f"omt: {missing.args[0]} is not set", file=sys.stderr)
        return 1
    except SetupFailed as error:
        print(f"omt: {error}", file=sys.stderr)
        return 1
    print("usage: omt.py setup SERVICES_JSON | omt.py token", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
