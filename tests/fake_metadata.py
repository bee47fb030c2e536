"""Local servers that answer as the metadata stack's services do, for the tests of
checks/metadata.py and resources/metadata/omt.py (each with failing variants):

- OpenMetadata's server (its REST API reference): GET /api/v1/system/version ->
  {"version", "revision", "timestamp"} without a login; POST /api/v1/users/login
  {"email", "password": base64} -> {"accessToken", "tokenType": "Bearer", ...}, 401
  {"code", "message"} for a wrong password; PUT /api/v1/users/changePassword
  {"username", "oldPassword", "newPassword", "confirmPassword", "requestType": "SELF"};
  PUT /api/v1/services/KIND (create or update) and GET /api/v1/services/KIND/name/NAME,
  both with a Bearer token (401 without). Its admin port: GET /healthcheck, Dropwizard's
  {name: {"healthy", "message"?, "duration", "timestamp"}}, 500 when one is unhealthy.
- Elasticsearch: GET /_cluster/health -> {"cluster_name", "status", "number_of_nodes", ...}.
- Airflow 2's webserver: GET /health -> {"metadatabase": {"status"}, "scheduler":
  {"status", "latest_scheduler_heartbeat"}}.
"""

from __future__ import annotations

import base64
import json
import uuid

from fakeservices import FakeService, _json


class OpenMetadata(FakeService):
    """The server's API and admin port on one port. variant: ok | unhealthy | no-version."""

    def __init__(self, email: str = "admin@factorhouse.io", password: str = "admin", variant: str = "ok"):
        self.email, self.password, self.variant = email, password, variant
        self.tokens: set[str] = set()
        self.services: dict[tuple[str, str], dict] = {}
        self.password_changes: list[dict] = []
        super().__init__()

    def _authorized(self, headers) -> bool:
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        return auth.startswith("Bearer ") and auth[7:] in self.tokens

    def answer(self, method, path, headers, body):
        denied = _json(401, {"code": 401, "message": "Not Authorized! Token not present"})
        if path == "/api/v1/system/version" and method == "GET":
            if self.variant == "no-version":
                return _json(200, {})
            return _json(200, {"version": "1.11.4", "revision": "abc123", "timestamp": 1760000000000})
        if path == "/healthcheck":
            ok = self.variant != "unhealthy"
            checks = {"deadlocks": {"healthy": True, "duration": 0, "timestamp": "2026-01-01T00:00:00Z"},
                      "OpenMetadataServerHealthCheck": {"healthy": ok, "duration": 3,
                                                        "timestamp": "2026-01-01T00:00:00Z",
                                                        **({} if ok else {"message": "Search is not reachable"})}}
            return _json(200 if ok else 500, checks)
        if path == "/api/v1/users/login" and method == "POST":
            request = json.loads(body)
            given = base64.b64decode(request.get("password", "")).decode()
            if request.get("email") != self.email or given != self.password:
                return _json(401, {"code": 401, "message": "You have entered an invalid username or password."})
            token = uuid.uuid4().hex
            self.tokens.add(token)
            return _json(200, {"tokenType": "Bearer", "accessToken": token, "refreshToken": uuid.uuid4().hex,
                               "expiryDuration": 3600})
        if path == "/api/v1/users/changePassword" and method == "PUT":
            if not self._authorized(headers):
                return denied
            request = json.loads(body)
            self.password_changes.append(request)
            if request.get("oldPassword") != self.password or request["newPassword"] != request["confirmPassword"]:
                return _json(400, {"code": 400, "message": "Old Password is not correct"})
            self.password = request["newPassword"]
            return _json(200, {"name": "admin"})
        if path.startswith("/api/v1/services/"):
            if not self._authorized(headers):
                return denied
            parts = path.split("/")  # ['', 'api', 'v1', 'services', KIND, ('name', NAME)]
            if method == "PUT" and len(parts) == 5:
                entity = json.loads(body)
                key = (parts[4], entity["name"])
                created = key not in self.services
                self.services[key] = entity
                return _json(201 if created else 200, {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, path)), **entity})
            if method == "GET" and len(parts) == 7 and parts[5] == "name":
                entity = self.services.get((parts[4], parts[6]))
                return _json(200, entity) if entity else _json(404, {"code": 404,
                                                                     "message": f"{parts[6]} not found"})
        return _json(404, {"code": 404, "message": "HTTP 404 Not Found"})


class Elasticsearch(FakeService):
    def __init__(self, status: str = "yellow"):
        self.status = status
        super().__init__()

    def answer(self, method, path, headers, body):
        if path.split("?")[0] == "/_cluster/health":
            return _json(200, {"cluster_name": "docker-cluster", "status": self.status, "timed_out": False,
                               "number_of_nodes": 1, "number_of_data_nodes": 1, "active_primary_shards": 9,
                               "unassigned_shards": 0 if self.status == "green" else 3})
        return _json(404, {"error": "no handler found", "status": 404})


class Airflow(FakeService):
    def __init__(self, scheduler: str = "healthy"):
        self.scheduler = scheduler
        super().__init__()

    def answer(self, method, path, headers, body):
        if path == "/health":
            return _json(200, {"metadatabase": {"status": "healthy"},
                               "scheduler": {"status": self.scheduler,
                                             "latest_scheduler_heartbeat": "2026-01-01T00:00:00+00:00"}})
        return _json(404, {"detail": "Not Found"})
