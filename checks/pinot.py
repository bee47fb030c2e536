"""The Pinot stack's questions (stacks/pinot.py): the controller, broker and server.
"""

from __future__ import annotations

from .plumbing import Failed, Target, http, json_of, question


@question("pinot-controller", asks="{pinotControllerUrl}/health answers OK")
def pinot_controller(t: Target) -> str:
    return _pinot_health(t.output("pinotControllerUrl"))


@question("pinot-broker", asks="{pinotBrokerUrl}/health answers OK")
def pinot_broker(t: Target) -> str:
    return _pinot_health(t.output("pinotBrokerUrl"))


def _pinot_health(url: str) -> str:
    answer = http("GET", f"{url}/health").text.strip()
    if answer != "OK":
        raise Failed(f"{url}/health answered {answer[:80]!r}, not OK")
    return "healthy"


@question("pinot-server", asks="the controller ({pinotControllerUrl}/instances) lists a server, enabled")
def pinot_server(t: Target) -> str:
    url = t.output("pinotControllerUrl")
    instances = json_of(http("GET", f"{url}/instances")).get("instances") or []
    servers = [i for i in instances if i.startswith("Server_")]
    if not servers:
        raise Failed(f"the controller lists no server among {len(instances)} instances: the server has not "
                     "registered")
    details = json_of(http("GET", f"{url}/instances/{servers[0]}"))
    if details.get("enabled") is not True:
        raise Failed(f"{servers[0]} is registered but not enabled")
    return f"{servers[0]} registered, enabled"
