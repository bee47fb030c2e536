"""Local servers that answer as the metadata stack's services do, for the tests of
checks/metadata.py and resources/metadata/omt.py (each with failing variants):

- OpenMetadata's server (its REST API reference): GET /api/v1/system/version ->
  {"version", "revision", "timestamp"} without a login; POST /api/v1/users/login
  {"email", "password": base64} -> {"accessToken", "tokenType": "Bearer", ...}, 401
  {"code", "message"} for a wrong password; PUT /api/v1/users/changePassword
  {"username", "oldPassword", "newPassword", "confirmPassword", "requestType": "SELF"} (the
  caller's own password when SELF, the token's user) -> 200 "Password Updated Successfully";
  PUT /api/v1/services/KIND (create or update) and GET /api/v1/services/KIND/name/NAME,
  both with a Bearer token (401 without). A PUT's connection is checked as 1.11.4's
  connection schemas do (openmetadata-spec's entity/services/connections/...: each object
  takes only its own keys, some required; 400 otherwise), and an Iceberg catalog's
  connection, which the schema leaves open (oneOf), is read as the server's converter
  reads it (IcebergCatalogClassConverter: the first of DynamoDB, Glue, Hive, REST whose
  keys it has): the service kept carries that kind as "catalogKind". Its admin port: GET /healthcheck, Dropwizard's
  {name: {"healthy", "message"?, "duration", "timestamp"}}, 500 when one is unhealthy.
- Elasticsearch: GET /_cluster/health -> {"cluster_name", "status", "number_of_nodes", ...}.
- Airflow 3.1 (the ingestion image of OpenMetadata 1.11.4 runs 3.1.x: openmetadata-ingestion
  1.11.4 pins apache-airflow 3.1.5 "as the ingestion container"): its API server answers
  GET /api/v2/monitor/health without a login (airflow-core's routes/public/monitor.py and
  api/common/airflow_health.py) -> {"metadatabase": {"status"}, "scheduler": {"status",
  "latest_scheduler_heartbeat"}, "triggerer": {...}, "dag_processor": {...}}, each status
  "healthy", "unhealthy" or (triggerer, dag processor never started) null; Airflow 2's
  GET /health answers 404 {"error": "Moved in Airflow 3. ..."} (core_api/app.py).
"""

from __future__ import annotations

import base64
import json
import uuid

from fakeservices import FakeService, json_answer, text_answer


# 1.11.4's connection schemas, in brief: (required keys, every key allowed); each object
# refuses a key it does not list (additionalProperties false)
CONNECTIONS = {
    "Postgres": ({"username", "hostPort", "database"},
                 {"type", "scheme", "username", "authType", "hostPort", "database", "ingestAllDatabases",
                  "schemaFilterPattern", "tableFilterPattern", "databaseFilterPattern", "sslMode", "sslConfig",
                  "classificationName", "connectionOptions", "connectionArguments", "sampleDataStorageConfig",
                  "supportsMetadataExtraction", "supportsUsageExtraction", "supportsLineageExtraction",
                  "supportsDBTExtraction", "supportsProfiler", "supportsDatabase", "supportsQueryComment",
                  "supportsDataDiff"}),
    "Kafka": ({"bootstrapServers"},
              {"type", "bootstrapServers", "schemaRegistryURL", "saslUsername", "saslPassword", "saslMechanism",
               "securityProtocol", "basicAuthUserInfo", "consumerConfig", "schemaRegistryConfig",
               "schemaRegistryTopicSuffixName", "consumerConfigSSL", "schemaRegistrySSL", "topicFilterPattern",
               "supportsMetadataExtraction"}),
    "Iceberg": ({"catalog"}, {"type", "catalog", "ownershipProperty", "schemaFilterPattern", "tableFilterPattern",
                              "databaseFilterPattern", "supportsMetadataExtraction"}),
}
ICEBERG_CATALOG = ({"name", "connection"}, {"name", "connection", "databaseName", "warehouseLocation"})
# the server's order of trying a catalog connection
CATALOG_KINDS = [("DynamoDb", {"tableName", "awsConfig"}), ("Glue", {"awsConfig"}), ("Hive", {"uri", "fileSystem"}),
                 ("Rest", {"uri", "credential", "token", "ssl", "sigv4", "fileSystem"})]
POSTGRES_BASIC_AUTH = {"password"}
AWS_CREDENTIALS = ({"awsRegion"}, {"awsAccessKeyId", "awsSecretAccessKey", "awsRegion", "awsSessionToken",
                                   "endPointURL", "profileName", "assumeRoleArn", "assumeRoleSessionName",
                                   "assumeRoleSourceIdentity"})


def _keys(what: str, given: dict, required: set, allowed: set) -> None:
    if missing := required - set(given):
        raise ValueError(f"{what}: missing {sorted(missing)}")
    if extra := set(given) - allowed:
        raise ValueError(f"{what}: unknown {sorted(extra)}")


def catalog_kind(connection: dict) -> str:
    """The kind the server makes of an Iceberg catalog's connection."""
    for kind, allowed in CATALOG_KINDS:
        if set(connection) <= allowed:  # a key a kind does not know fails its conversion
            return kind
    raise ValueError(f"catalog connection: no kind takes {sorted(connection)}")


def checked_connection(service_type: str, config: dict) -> dict:
    """What the server keeps of a connection's config, or ValueError (its 400)."""
    if service_type not in CONNECTIONS or config.get("type", service_type) != service_type:
        raise ValueError(f"connection type {config.get('type')!r} of service type {service_type!r}")
    _keys(service_type, config, *CONNECTIONS[service_type])
    if service_type == "Postgres" and isinstance(config.get("authType"), dict):
        _keys("authType", config["authType"], set(), POSTGRES_BASIC_AUTH)
    if service_type != "Iceberg":
        return config
    catalog = config["catalog"]
    _keys("catalog", catalog, *ICEBERG_CATALOG)
    kind = catalog_kind(catalog["connection"])
    files = (catalog["connection"].get("fileSystem") or {}).get("type")
    if files is not None:
        _keys("fileSystem.type", files, *AWS_CREDENTIALS)
    return {**config, "catalogKind": kind}


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
        denied = json_answer(401, {"code": 401, "message": "Not Authorized! Token not present"})
        if path == "/api/v1/system/version" and method == "GET":
            if self.variant == "no-version":
                return json_answer(200, {})
            return json_answer(200, {"version": "1.11.4", "revision": "abc123", "timestamp": 1760000000000})
        if path == "/healthcheck":
            ok = self.variant != "unhealthy"
            checks = {"deadlocks": {"healthy": True, "duration": 0, "timestamp": "2026-01-01T00:00:00Z"},
                      "OpenMetadataServerHealthCheck": {"healthy": ok, "duration": 3,
                                                        "timestamp": "2026-01-01T00:00:00Z",
                                                        **({} if ok else {"message": "Search is not reachable"})}}
            return json_answer(200 if ok else 500, checks)
        if path == "/api/v1/users/login" and method == "POST":
            request = json.loads(body)
            given = base64.b64decode(request.get("password", "")).decode()
            if request.get("email") != self.email or given != self.password:
                return json_answer(401, {"code": 401, "message": "You have entered an invalid username or password."})
            token = uuid.uuid4().hex
            self.tokens.add(token)
            return json_answer(200, {"tokenType": "Bearer", "accessToken": token, "refreshToken": uuid.uuid4().hex,
                               "expiryDuration": 3600})
        if path == "/api/v1/users/changePassword" and method == "PUT":
            if not self._authorized(headers):
                return denied
            request = json.loads(body)
            self.password_changes.append(request)
            if request.get("oldPassword") != self.password or request["newPassword"] != request["confirmPassword"]:
                return json_answer(400, {"code": 400, "message": "Old Password is not correct"})
            self.password = request["newPassword"]
            # UserResource.changeUserPassword answers a bare sentence, not the user
            return text_answer(200, "Password Updated Successfully", "application/json")
        if path.startswith("/api/v1/services/"):
            if not self._authorized(headers):
                return denied
            parts = path.split("/")  # ['', 'api', 'v1', 'services', KIND, ('name', NAME)]
            if method == "PUT" and len(parts) == 5:
                entity = json.loads(body)
                config = ((entity.get("connection") or {}).get("config")) or {}
                try:
                    entity = {**entity, "connection": {"config": checked_connection(entity["serviceType"], config)}}
                except ValueError as wrong:
                    return json_answer(400, {"code": 400, "message": f"Invalid connection: {wrong}"})
                key = (parts[4], entity["name"])
                created = key not in self.services
                self.services[key] = entity
                return json_answer(201 if created else 200, {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, path)), **entity})
            if method == "GET" and len(parts) == 7 and parts[5] == "name":
                entity = self.services.get((parts[4], parts[6]))
                return json_answer(200, entity) if entity else json_answer(404, {"code": 404,
                                                                     "message": f"{parts[6]} not found"})
        return json_answer(404, {"code": 404, "message": "HTTP 404 Not Found"})


class Elasticsearch(FakeService):
    def __init__(self, status: str = "yellow"):
        self.status = status
        super().__init__()

    def answer(self, method, path, headers, body):
        if path.split("?")[0] == "/_cluster/health":
            return json_answer(200, {"cluster_name": "docker-cluster", "status": self.status, "timed_out": False,
                               "number_of_nodes": 1, "number_of_data_nodes": 1, "active_primary_shards": 9,
                               "unassigned_shards": 0 if self.status == "green" else 3})
        return json_answer(404, {"error": "no handler found", "status": 404})


class Airflow(FakeService):
    """Airflow 3.1's API server (port 8080 in the image). metadatabase: "healthy", or
    "unhealthy" when its queries fail (then the scheduler is "unhealthy" too)."""

    def __init__(self, scheduler: str = "healthy", metadatabase: str = "healthy"):
        self.scheduler, self.metadatabase = scheduler, metadatabase
        super().__init__()

    def answer(self, method, path, headers, body):
        beat = "2026-01-01T00:00:00+00:00"
        if path == "/api/v2/monitor/health" and method == "GET":
            return json_answer(200, {"metadatabase": {"status": self.metadatabase},
                               "scheduler": {"status": self.scheduler, "latest_scheduler_heartbeat": beat},
                               "triggerer": {"status": None, "latest_triggerer_heartbeat": None},
                               "dag_processor": {"status": "healthy", "latest_dag_processor_heartbeat": beat}})
        if path == "/health":
            return json_answer(404, {"error": "Moved in Airflow 3. Please change config to check `/api/v2/monitor/health`"})
        return json_answer(404, {"detail": "Not Found"})
