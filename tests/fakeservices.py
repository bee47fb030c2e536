"""Local servers that answer `make check`'s questions as the real services do, for
the tests of checks/. Each answers the requests the check makes with the
shapes of the service's API documentation, and keeps what a question makes (a subject, a
session) so that a test can see it was removed; each has failing variants.

- Schema Registry (Confluent's REST API reference): basic auth with a realm, 401 without;
  POST /subjects/S/versions -> {"id"}; GET /subjects/S/versions/latest -> {"subject",
  "version", "id", "schema"}; DELETE /subjects/S (soft, first) then ?permanent=true.
- Kafka Connect (REST API): GET /connector-plugins -> [{"class", "type", "version"}].
- Flink (REST API): GET /taskmanagers -> {"taskmanagers": [{"id", "slotsNumber",
  "freeSlots", ...}]}.
- Flink SQL gateway (REST API v1): POST /v1/sessions -> {"sessionHandle"}; POST
  .../statements -> {"operationHandle"}; GET .../result/N -> {"resultType": NOT_READY |
  PAYLOAD | EOS, "results": {"columns", "data": [{"kind", "fields"}]}, "nextResultUri"};
  DELETE /v1/sessions/S -> {"status": "CLOSED"}; a failed statement: 500 {"errors": [...]}.
- Iceberg REST catalog (its OpenAPI spec): GET /v1/config -> {"defaults", "overrides"}.
- Pinot (controller and broker API): GET /health -> "OK"; GET /instances ->
  {"instances": [...]}; GET /instances/NAME -> {"instanceName", "enabled", ...}.
- Jupyter (server API): GET /api -> {"version"}; Spark's master UI: GET /json/ ->
  {"status", "aliveworkers", "workers", ...}.
- Kpow and Flex: their UI, with Jetty's form login (a redirect to /login) or none.
- MinIO (the S3 API): ListBuckets and HeadBucket, AWS Signature V4 checked with the
  root user's secret (botocore's signer), 403 InvalidAccessKeyId / SignatureDoesNotMatch.
- Grafana, Marquez (API and admin), Marquez's web server, ClickHouse's HTTP interface,
  StarRocks's backend, CloudBeaver's GraphQL API, Spark's history server: each class
  says the shapes it answers with.

Not HTTP, on a TCP server of their own (`_TcpStandIn`):
- StarRocks's frontend: MySQL's client/server protocol (handshake v10 with
  mysql_native_password, COM_QUERY answered by text result sets), SHOW BACKENDS in
  StarRocks's columns.
- The Hive Metastore: Thrift (binary protocol, buffered transport), answered by the
  processor generated from the metastore's IDL (pymetastore) with a handler of ours.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import urlsplit

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

Answer = tuple[int, dict, bytes]  # status, headers, body


def json_answer(status: int, value, content_type: str = "application/json") -> Answer:
    return status, {"Content-Type": content_type}, json.dumps(value).encode()


def text_answer(status: int, text: str, content_type: str = "text/plain") -> Answer:
    return status, {"Content-Type": content_type}, text.encode()


class FakeService:
    """An HTTP server on 127.0.0.1 (a free port) whose `answer(method, path, headers, body)`
    gives every answer; `requests` records (method, path) of each request."""

    def __init__(self, delay: float = 0.0):
        self.requests: list[tuple[str, str]] = []
        self.delay = delay
        self.together = None  # a tests/together.Together its requests wait at
        service = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                service.requests.append((self.command, self.path))
                if service.together is not None:
                    service.together.wait()
                if service.delay:
                    threading.Event().wait(service.delay)
                status, headers, payload = service.answer(self.command, self.path, dict(self.headers), body)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = do_HEAD = do_PUT = _serve

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def answer(self, method: str, path: str, headers: dict, body: bytes) -> Answer:
        raise NotImplementedError

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _basic_user(headers: dict) -> Optional[tuple[str, str]]:
    import base64
    value = headers.get("Authorization", "")
    if not value.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(value[6:]).decode().partition(":")
    return user, password


class SchemaRegistry(FakeService):
    """variant: ok | open (answers without a login) | other-realm (refuses every login)."""

    def __init__(self, variant: str = "ok", realm: Optional[dict[str, str]] = None):
        self.variant, self.realm = variant, realm or {"admin": "admin"}
        self.subjects: dict[str, dict] = {}  # subject -> {"schema", "id", "deleted"}
        self.next_id = 1
        super().__init__()

    def answer(self, method, path, headers, body):
        login = _basic_user(headers)
        if self.variant != "open" and (login is None or self.variant == "other-realm"
                                       or self.realm.get(login[0]) != login[1]):
            return json_answer(401, {"error_code": 401, "message": "Unauthorized"})
        parts = urlsplit(path)
        match = re.fullmatch(r"/subjects/([^/]+)(/versions(/latest)?)?", parts.path)
        if parts.path == "/subjects" and method == "GET":
            return json_answer(200, [s for s, v in self.subjects.items() if not v["deleted"]])
        if not match:
            return json_answer(404, {"error_code": 404, "message": "HTTP 404 Not Found"})
        subject = match.group(1)
        entry = self.subjects.get(subject)
        if method == "POST" and match.group(2) and not match.group(3):
            schema = json.loads(body)["schema"]
            json.loads(schema)  # a schema the registry can parse
            self.subjects[subject] = {"schema": schema, "id": self.next_id, "deleted": False}
            self.next_id += 1
            return json_answer(200, {"id": self.subjects[subject]["id"]}, "application/vnd.schemaregistry.v1+json")
        if method == "GET" and match.group(3):
            if not entry or entry["deleted"]:
                return json_answer(404, {"error_code": 40401, "message": f"Subject '{subject}' not found."})
            return json_answer(200, {"subject": subject, "version": 1, "id": entry["id"], "schema": entry["schema"]})
        if method == "DELETE" and not match.group(2):
            if not entry:
                return json_answer(404, {"error_code": 40401, "message": f"Subject '{subject}' not found."})
            if "permanent=true" in (parts.query or ""):
                if not entry["deleted"]:
                    return json_answer(404, {"error_code": 40405, "message": f"Subject '{subject}' was not deleted "
                                                                       "first before being permanently deleted"})
                del self.subjects[subject]
            else:
                entry["deleted"] = True
            return json_answer(200, [1])
        return json_answer(405, {"error_code": 405, "message": "HTTP 405 Method Not Allowed"})


CONNECT_BUILT_INS = [
    {"class": "org.apache.kafka.connect.mirror.MirrorCheckpointConnector", "type": "source", "version": "7.8.0-ccs"},
    {"class": "org.apache.kafka.connect.mirror.MirrorHeartbeatConnector", "type": "source", "version": "7.8.0-ccs"},
    {"class": "org.apache.kafka.connect.mirror.MirrorSourceConnector", "type": "source", "version": "7.8.0-ccs"},
]


class Connect(FakeService):
    def __init__(self, plugins: list[str]):
        self.plugins = plugins
        super().__init__()

    def answer(self, method, path, headers, body):
        if method == "GET" and path == "/connector-plugins":
            listed = CONNECT_BUILT_INS + [{"class": c, "type": "sink" if "Sink" in c else "source", "version": "1"}
                                          for c in self.plugins]
            return json_answer(200, listed)
        if method == "GET" and path == "/":
            return json_answer(200, {"version": "7.8.0-ccs", "commit": "1", "kafka_cluster_id": "x"})
        return json_answer(404, {"error_code": 404, "message": "HTTP 404 Not Found"})


class JobManager(FakeService):
    def __init__(self, slots: list[int]):
        self.slots = slots  # one taskmanager per entry, with that many slots
        super().__init__()

    def answer(self, method, path, headers, body):
        if method == "GET" and path == "/taskmanagers":
            return json_answer(200, {"taskmanagers": [
                {"id": f"172.18.0.{n + 5}:6122-{uuid.uuid4().hex[:6]}", "path": f"pekko.tcp://flink@172.18.0.{n + 5}:6122/user/rpc/taskmanager_0",
                 "dataPort": 6121, "jmxPort": -1, "timeSinceLastHeartbeat": 1700000000000, "slotsNumber": s,
                 "freeSlots": s, "blocked": False} for n, s in enumerate(self.slots)]})
        return json_answer(404, {"errors": ["Not found: /" + path]})


class SqlGateway(FakeService):
    """variant: ok | error (the statement fails on the cluster) | empty (no row comes back)."""

    def __init__(self, variant: str = "ok", not_ready: int = 2):
        self.variant, self.not_ready = variant, not_ready
        self.sessions: dict[str, dict] = {}  # handle -> {"closed": bool, "operations": {handle: fetches}}
        super().__init__()

    def answer(self, method, path, headers, body):
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/v1/sessions":
            handle = str(uuid.uuid4())
            self.sessions[handle] = {"closed": False, "operations": {}}
            return json_answer(200, {"sessionHandle": handle})
        session = self.sessions.get(parts[2]) if len(parts) > 2 else None
        if session is None or session["closed"]:
            return json_answer(404, {"errors": ["Session does not exist."]})
        if method == "DELETE" and len(parts) == 3:
            session["closed"] = True
            return json_answer(200, {"status": "CLOSED"})
        if method == "POST" and parts[3:] == ["statements"]:
            assert json.loads(body) == {"statement": "SELECT 1"}
            handle = str(uuid.uuid4())
            session["operations"][handle] = 0
            return json_answer(200, {"operationHandle": handle})
        if method == "GET" and len(parts) == 7 and parts[3] == "operations" and parts[5] == "result":
            return self._result(session, parts[4], int(parts[6]))
        return json_answer(404, {"errors": ["Unable to find a handler for " + path]})

    def _result(self, session: dict, operation: str, token: int) -> Answer:
        base = f"/v1/sessions/{[h for h, s in self.sessions.items() if s is session][0]}/operations/{operation}/result"
        if self.variant == "error":
            return json_answer(500, {"errors": ["Internal server error.", "<Exception on server side:\n"
                                          "org.apache.flink.table.gateway.api.utils.SqlGatewayException: "
                                          "Failed to fetchResults.\nCaused by: org.apache.flink.runtime.jobmanager."
                                          "scheduler.NoResourceAvailableException: Could not acquire the minimum "
                                          "required resources.\n\tat ...\n\nEnd of exception on server side>"]})
        session["operations"][operation] += 1
        if session["operations"][operation] <= self.not_ready:
            return json_answer(200, {"resultType": "NOT_READY", "isQueryResult": False, "resultKind": "SUCCESS_WITH_CONTENT",
                               "results": {"columns": [], "data": []}, "nextResultUri": f"{base}/{token}"})
        if token == 0 and self.variant != "empty":
            return json_answer(200, {"resultType": "PAYLOAD", "isQueryResult": True, "jobID": uuid.uuid4().hex,
                               "resultKind": "SUCCESS_WITH_CONTENT",
                               "results": {"columns": [{"name": "EXPR$0", "logicalType": {"type": "INTEGER",
                                                                                          "nullable": False}}],
                                           "data": [{"kind": "INSERT", "fields": [1]}]},
                               "nextResultUri": f"{base}/1"})
        return json_answer(200, {"resultType": "EOS", "isQueryResult": True, "resultKind": "SUCCESS_WITH_CONTENT",
                           "results": {"columns": [], "data": []}})


class IcebergRest(FakeService):
    def __init__(self, variant: str = "ok"):
        self.variant = variant
        super().__init__()

    def answer(self, method, path, headers, body):
        if method == "GET" and path.startswith("/v1/config"):
            if self.variant == "broken":
                return json_answer(500, {"error": {"message": "Unable to load catalog", "type": "RuntimeException",
                                             "code": 500}})
            return json_answer(200, {"defaults": {}, "overrides": {"warehouse": "s3://warehouse/"},
                               "endpoints": ["GET /v1/{prefix}/namespaces"]})
        return json_answer(404, {"error": {"message": "not found", "type": "NotFoundException", "code": 404}})


class PinotController(FakeService):
    def __init__(self, healthy: bool = True, servers: int = 1, enabled: bool = True):
        self.healthy, self.enabled = healthy, enabled
        self.instances = ["Controller_pinot-controller_9000", "Broker_pinot-broker_8099"] + \
            [f"Server_172.18.0.{9 + n}_8098" for n in range(servers)]
        super().__init__()

    def answer(self, method, path, headers, body):
        if path == "/health":
            return text_answer(200, "OK") if self.healthy else text_answer(503, "Pinot controller is not ready")
        if path == "/instances":
            return json_answer(200, {"instances": self.instances})
        name = path.rsplit("/", 1)[1]
        if path.startswith("/instances/") and name in self.instances:
            host, port = name.split("_")[1:3]
            return json_answer(200, {"instanceName": name, "hostName": host, "enabled": self.enabled, "port": port,
                               "tags": ["DefaultTenant_OFFLINE", "DefaultTenant_REALTIME"], "pools": None,
                               "grpcPort": 8090, "adminPort": 8097})
        return json_answer(404, {"code": 404, "error": f"Instance {name} not found"})


class PinotBroker(FakeService):
    def __init__(self, healthy: bool = True, says: str = "OK"):
        self.healthy, self.says = healthy, says
        super().__init__()

    def answer(self, method, path, headers, body):
        if path == "/health":
            return text_answer(200, self.says) if self.healthy else text_answer(503, "Pinot broker is not ready")
        return text_answer(404, "Not found")


class FactorHouseUi(FakeService):
    """variant: login (Jetty's form login: a redirect to /login) | open | broken."""

    def __init__(self, variant: str = "login"):
        self.variant = variant
        super().__init__()

    def answer(self, method, path, headers, body):
        if self.variant == "broken":
            return text_answer(502, "<html><body>Bad Gateway</body></html>", "text/html")
        if self.variant == "login" and path != "/login":
            return 302, {"Location": f"{self.url}/login"}, b""
        if path == "/login":
            return text_answer(200, '<form method="POST" action="j_security_check"><input name="j_username">'
                              '<input type="password" name="j_password"></form>', "text/html")
        return text_answer(200, "<html><head><title>Kpow</title></head><body><div id=app></div></body></html>", "text/html")


class Jupyter(FakeService):
    def answer(self, method, path, headers, body):
        if path == "/api":
            return json_answer(200, {"version": "6.5.4"})
        return text_answer(404, "Not found")


class SparkMaster(FakeService):
    def __init__(self, workers: int = 1):
        self.workers = workers
        super().__init__()

    def answer(self, method, path, headers, body):
        if path == "/json":
            return 302, {"Location": f"{self.url}/json/"}, b""
        if path == "/json/":
            return json_answer(200, {"url": "spark://spark-iceberg:7077", "workers": [
                {"id": f"worker-{n}", "host": "172.18.0.7", "port": 40000 + n, "state": "ALIVE", "cores": 2}
                for n in range(self.workers)], "aliveworkers": self.workers, "cores": 2 * self.workers,
                "coresused": 0, "activeapps": [], "completedapps": [], "activedrivers": [],
                "completeddrivers": [], "status": "ALIVE"})
        return text_answer(404, "Not found")


def _s3_error(status: int, code: str, message: str) -> Answer:
    return status, {"Content-Type": "application/xml"}, (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
        f"<RequestId>1</RequestId></Error>").encode()


class MinIO(FakeService):
    """The S3 API of MinIO: every request signed (AWS Signature V4) with the root user's key,
    checked as MinIO checks it."""

    def __init__(self, user: str, password: str, buckets: list[str]):
        self.user, self.password, self.buckets = user, password, buckets
        super().__init__()

    def _refusal(self, method: str, path: str, headers: dict, body: bytes) -> Optional[Answer]:
        lowered = {k.lower(): v for k, v in headers.items()}
        match = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, "
                         r"SignedHeaders=([^,]+), Signature=([0-9a-f]+)", lowered.get("authorization", ""))
        if not match:
            return _s3_error(403, "AccessDenied", "Access Denied.")
        key, _, region, signed, signature = match.groups()
        if key != self.user:
            return _s3_error(403, "InvalidAccessKeyId", "The Access Key Id you provided does not exist in our records.")
        request = AWSRequest(method=method, url=f"http://{lowered['host']}{path}",
                             headers={h: lowered[h] for h in signed.split(";")}, data=body)
        request.context["timestamp"] = lowered["x-amz-date"]
        signer = S3SigV4Auth(Credentials(self.user, self.password), "s3", region)
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        if expected != signature:
            return _s3_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                                                           "signature you provided.")
        return None

    def answer(self, method, path, headers, body):
        refusal = self._refusal(method, path, headers, body)
        if refusal:
            return refusal
        bucket = urlsplit(path).path.strip("/")
        if method == "GET" and not bucket:
            listed = "".join(f"<Bucket><Name>{b}</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket>"
                             for b in self.buckets)
            return 200, {"Content-Type": "application/xml"}, (
                '<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult '
                'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>x</ID><DisplayName>minio</DisplayName>'
                f"</Owner><Buckets>{listed}</Buckets></ListAllMyBucketsResult>").encode()
        if method == "HEAD":
            return (200, {}, b"") if bucket in self.buckets else (404, {}, b"")
        return _s3_error(501, "NotImplemented", "A header you provided implies functionality that is not implemented")


class Grafana(FakeService):
    """Grafana's HTTP API: GET /api/health -> {"commit", "database", "version"}; with basic
    auth as admin: GET /api/datasources -> [{"id", "uid", "name", "type", "url", ...}], GET
    /api/datasources/uid/U/health -> {"status": "OK" | "ERROR", "message"} (400 on ERROR);
    401 {"message": "invalid username or password"} otherwise. variant: ok |
    no-datasource | datasource-down."""

    def __init__(self, password: str, variant: str = "ok"):
        self.password, self.variant = password, variant
        super().__init__()

    def answer(self, method, path, headers, body):
        if path == "/api/health":
            return json_answer(200, {"commit": "a1b2c3d", "database": "ok", "version": "12.1.1"})
        if _basic_user(headers) != ("admin", self.password):
            return json_answer(401, {"message": "invalid username or password", "messageId": "password-auth.failed",
                               "statusCode": 401})
        source = {"id": 1, "uid": "factorhouse-prometheus", "orgId": 1, "name": "Prometheus", "type": "prometheus",
                  "access": "proxy", "url": "http://prometheus:9090", "isDefault": True, "readOnly": True}
        if path == "/api/datasources":
            return json_answer(200, [] if self.variant == "no-datasource" else [source])
        if path == "/api/datasources/uid/factorhouse-prometheus/health":
            if self.variant == "datasource-down":
                return json_answer(400, {"status": "ERROR", "message": "Post \"http://prometheus:9090/api/v1/query\": dial "
                                                                 "tcp: lookup prometheus: no such host"})
            return json_answer(200, {"status": "OK", "message": "Successfully queried the Prometheus API."})
        return json_answer(404, {"message": "Not found"})


class Marquez(FakeService):
    """Marquez's API (GET /api/v1/namespaces -> {"namespaces": [{"name", "createdAt",
    "ownerName", ...}]}) and its Dropwizard admin (GET /healthcheck -> {name: {"healthy",
    "message"?, "duration", "timestamp"}}, 500 when one is unhealthy) on one port. variant:
    ok | unhealthy | no-default."""

    def __init__(self, variant: str = "ok"):
        self.variant = variant
        super().__init__()

    def answer(self, method, path, headers, body):
        if path == "/api/v1/namespaces":
            names = ["fh-local"] + ([] if self.variant == "no-default" else ["default"])
            return json_answer(200, {"namespaces": [{"name": n, "createdAt": "2026-01-01T00:00:00Z", "ownerName": "anonymous",
                                               "description": None, "isHidden": False} for n in names]})
        if path == "/healthcheck":
            database = {"healthy": self.variant != "unhealthy", "duration": 1, "timestamp": "2026-01-01T00:00:00Z"}
            if self.variant == "unhealthy":
                database["message"] = "Cannot connect to marquez-db:5432"
            checks = {"deadlocks": {"healthy": True, "duration": 0, "timestamp": "2026-01-01T00:00:00Z"},
                      "postgresql": database}
            return json_answer(500 if self.variant == "unhealthy" else 200, checks)
        return json_answer(404, {"code": 404, "message": "HTTP 404 Not Found"})


class MarquezWeb(FakeService):
    """marquez-web's server: the UI's page at /, /healthcheck, and /api/v1/* passed to the
    API at `api` (http-proxy-middleware: 504 when the API does not answer)."""

    def __init__(self, api: str):
        self.api = api
        super().__init__()

    def answer(self, method, path, headers, body):
        import urllib.error
        import urllib.request
        if path.startswith("/api/v1/"):
            try:
                with urllib.request.urlopen(f"{self.api}{path}", timeout=2) as answer:
                    return answer.status, {"Content-Type": "application/json"}, answer.read()
            except urllib.error.HTTPError as error:
                return error.code, {"Content-Type": "application/json"}, error.read()
            except OSError:
                return text_answer(504, "Error occurred while trying to proxy: localhost:3000/api/v1/namespaces")
        if path == "/healthcheck":
            return text_answer(200, "OK", "text/html")
        return text_answer(200, '<!DOCTYPE html><html lang="en"><head><title>Marquez</title></head><body>'
                          '<div id="root"></div><script src="/main.js"></script></body></html>', "text/html")


class ClickHouse(FakeService):
    """ClickHouse's HTTP interface: GET /ping -> "Ok.\\n"; a query in a POST body, the
    login in X-ClickHouse-User/X-ClickHouse-Key: "1\\n" for SELECT 1; a wrong password of
    `default` 401 with X-ClickHouse-Exception-Code 194 (REQUIRED_PASSWORD: how ClickHouse
    reports it for `default`), another user 403 with 516 (AUTHENTICATION_FAILED).
    `accepts_any`: a server whose user takes any password (one that did not get it)."""

    def __init__(self, password: str, accepts_any: bool = False):
        self.password, self.accepts_any = password, accepts_any
        super().__init__()

    def answer(self, method, path, headers, body):
        if path == "/ping":
            return text_answer(200, "Ok.\n")
        user, key = headers.get("X-ClickHouse-User", "default"), headers.get("X-ClickHouse-Key", "")
        if user != "default" or (key != self.password and not self.accepts_any):
            code, status, name = (194, 401, "REQUIRED_PASSWORD") if user == "default" else \
                (516, 403, "AUTHENTICATION_FAILED")
            return status, {"Content-Type": "text/plain", "X-ClickHouse-Exception-Code": str(code)}, (
                f"Code: {code}. DB::Exception: {user}: Authentication failed: password is incorrect, or there is no "
                f"user with such name. ({name}) (version 25.6.13.41 (official build))\n").encode()
        if method == "POST" and body.decode().strip() == "SELECT 1":
            return text_answer(200, "1\n", "text/tab-separated-values; charset=UTF-8")
        return text_answer(400, "Code: 62. DB::Exception: Syntax error. (SYNTAX_ERROR)\n")


class StarRocksBackend(FakeService):
    """StarRocks's backend web server: GET /api/health -> {"status": "OK", "msg": "To Be
    Added"}; `healthy` False: the answer of a backend that is not ready."""

    def __init__(self, healthy: bool = True):
        self.healthy = healthy
        super().__init__()

    def answer(self, method, path, headers, body):
        if path == "/api/health":
            return json_answer(200, {"status": "OK", "msg": "To Be Added"}) if self.healthy else \
                json_answer(200, {"status": "Service Unavailable", "msg": "heartbeat not received"})
        return text_answer(404, "Not Found")


class CloudBeaver(FakeService):
    """CloudBeaver's GraphQL API: POST /api/gql {"query"} -> {"data": {"serverConfig":
    {"name", "version", "configurationMode"}}}. `configured` False: a server waiting in
    its configuration mode (its initial data not applied)."""

    def __init__(self, configured: bool = True):
        self.configured = configured
        super().__init__()

    def answer(self, method, path, headers, body):
        if method == "POST" and path == "/api/gql":
            query = json.loads(body)["query"]
            assert "serverConfig" in query
            return json_answer(200, {"data": {"serverConfig": {"name": "My Data Platform", "version": "25.2.0.202509",
                                                         "configurationMode": not self.configured}}})
        return text_answer(200, "<!DOCTYPE html><html><head><title>CloudBeaver</title></head></html>", "text/html")


class SparkHistory(FakeService):
    """Spark's history server REST API: GET /api/v1/applications -> [{"id", "name",
    "attempts": [...]}]."""

    def answer(self, method, path, headers, body):
        if path.startswith("/api/v1/applications"):
            return json_answer(200, [{"id": "local-1767225600000", "name": "Spark shell", "attempts": [
                {"startTime": "2026-01-01T00:00:00.000GMT", "completed": True, "sparkUser": "spark"}]}])
        return text_answer(404, "Not Found")


class _TcpStandIn:
    """A server on 127.0.0.1 (a free port) that serves each connection in a thread of its
    own with `serve(connection)`; closed by `close()`."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._serve_closing, args=(connection,), daemon=True).start()

    def _serve_closing(self, connection: socket.socket) -> None:
        with connection:
            try:
                self.serve(connection)
            except (OSError, ConnectionError):
                pass

    def serve(self, connection: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Stop listening: shut down first, which wakes the thread blocked in accept (Linux)."""
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        self.thread.join(5)


# StarRocks's frontend speaks MySQL's client/server protocol (its reference: "Client/Server
# Protocol" of MySQL's internals documentation): a handshake v10 with
# mysql_native_password, then COM_QUERY answered by text result sets (column
# definitions, EOF, rows, EOF) and COM_QUIT.
BACKEND_COLUMNS = ("BackendId", "IP", "HeartbeatPort", "BePort", "HttpPort", "BrpcPort", "LastStartTime",
                   "LastHeartbeat", "Alive", "SystemDecommissioned", "ClusterDecommissioned", "TabletNum",
                   "ErrMsg", "Version", "Status")


def _lenenc(value: Optional[bytes]) -> bytes:
    if value is None:
        return b"\xfb"  # NULL
    size = len(value)
    head = bytes([size]) if size < 251 else b"\xfc" + size.to_bytes(2, "little")
    return head + value


class StarRocksFrontend(_TcpStandIn):
    """The frontend's MySQL protocol port: the user `root` without a password logs in;
    SHOW BACKENDS lists `backends` (IP:HeartbeatPort -> alive) in StarRocks's columns;
    any other statement answers OK. `user` other than root: access denied (1045)."""

    def __init__(self, backends: dict[str, bool]):
        self.backends = backends
        self.queries: list[str] = []
        super().__init__()

    @staticmethod
    def _send(connection: socket.socket, sequence: int, payload: bytes) -> int:
        connection.sendall(len(payload).to_bytes(3, "little") + bytes([sequence & 0xff]) + payload)
        return sequence + 1

    @staticmethod
    def _read(connection: socket.socket) -> bytes:
        head = connection.recv(4, socket.MSG_WAITALL)
        if len(head) < 4:
            raise ConnectionError("closed")
        size = int.from_bytes(head[:3], "little")
        return connection.recv(size, socket.MSG_WAITALL) if size else b""

    def serve(self, connection: socket.socket) -> None:
        # CLIENT_LONG_PASSWORD | CONNECT_WITH_DB | PROTOCOL_41 | TRANSACTIONS | SECURE_CONNECTION | PLUGIN_AUTH
        capabilities = 0x1 | 0x8 | 0x200 | 0x2000 | 0x8000 | 0x80000
        salt = b"abcdefgh" + b"ijklmnopqrst"
        handshake = (b"\x0a" + b"8.0.33\x00" + (7).to_bytes(4, "little") + salt[:8] + b"\x00"
                     + (capabilities & 0xffff).to_bytes(2, "little") + b"\x21" + (0).to_bytes(2, "little")
                     + (capabilities >> 16).to_bytes(2, "little") + bytes([21]) + b"\x00" * 10
                     + salt[8:] + b"\x00" + b"mysql_native_password\x00")
        self._send(connection, 0, handshake)
        login = self._read(connection)
        user = login[32:login.index(b"\x00", 32)].decode()
        scramble_length = login[login.index(b"\x00", 32) + 1]
        if user != "root" or scramble_length:
            self._send(connection, 2, self._error(1045, "28000", f"Access denied for user '{user}'"))
            return
        self._send(connection, 2, b"\x00\x00\x00" + (0).to_bytes(2, "little") + (0).to_bytes(2, "little"))
        while True:
            command = self._read(connection)
            if command[:1] == b"\x01":  # COM_QUIT
                return
            sql = command[1:].decode()
            self.queries.append(sql)
            if command[:1] == b"\x03" and sql.strip().upper() == "SHOW BACKENDS":
                self._result(connection, BACKEND_COLUMNS, [self._backend_row(n, a, b) for n, (b, a) in
                                                           enumerate(self.backends.items(), start=10001)])
            else:
                self._send(connection, 1, b"\x00\x00\x00" + (0).to_bytes(2, "little") + (0).to_bytes(2, "little"))

    @staticmethod
    def _backend_row(backend_id: int, alive: bool, backend: str) -> list[Optional[str]]:
        host, _, port = backend.rpartition(":")
        return [str(backend_id), host, port, "9060", "8040", "8060", "2026-01-01 00:00:00", "2026-01-01 00:00:05",
                "true" if alive else "false", "false", "false", "0", "" if alive else "heartbeat timeout",
                "3.5.5-abc", "{}"]

    @staticmethod
    def _error(code: int, state: str, message: str) -> bytes:
        return b"\xff" + code.to_bytes(2, "little") + b"#" + state.encode() + message.encode()

    def _result(self, connection: socket.socket, columns, rows) -> None:
        eof = b"\xfe" + (0).to_bytes(2, "little") + (0).to_bytes(2, "little")
        sequence = self._send(connection, 1, bytes([len(columns)]))  # the column count (under 251)
        for name in columns:
            definition = (_lenenc(b"def") + _lenenc(b"") + _lenenc(b"") + _lenenc(b"") + _lenenc(name.encode())
                          + _lenenc(name.encode()) + b"\x0c" + (33).to_bytes(2, "little") + (1024).to_bytes(4, "little")
                          + b"\xfd" + (0).to_bytes(2, "little") + b"\x00" + b"\x00\x00")
            sequence = self._send(connection, sequence, definition)
        sequence = self._send(connection, sequence, eof)
        for row in rows:
            sequence = self._send(connection, sequence, b"".join(_lenenc(None if v is None else v.encode())
                                                                  for v in row))
        self._send(connection, sequence, eof)


class HiveMetastore(_TcpStandIn):
    """The Hive Metastore's Thrift service (binary protocol, buffered transport, as the
    metastore serves it), answered by the Thrift processor of its IDL (pymetastore's
    generated code) with a handler of our own: get_all_databases -> `databases`. variant:
    ok | failing (a MetaException) | hangs-up (closes every connection at once)."""

    def __init__(self, databases: tuple[str, ...] = ("default",), variant: str = "ok"):
        from pymetastore.hive_metastore import ThriftHiveMetastore
        from pymetastore.hive_metastore.ttypes import MetaException
        stand_in = self

        class Handler:
            def get_all_databases(self):
                stand_in.calls += 1
                if stand_in.variant == "failing":
                    raise MetaException("Got exception: java.sql.SQLException Unable to open a test connection to "
                                        "the given database")
                return list(stand_in.databases)

        self.databases, self.variant, self.calls = databases, variant, 0
        self.processor = ThriftHiveMetastore.Processor(Handler())
        super().__init__()

    def serve(self, connection: socket.socket) -> None:
        from thrift.protocol.TBinaryProtocol import TBinaryProtocol
        from thrift.transport import TSocket, TTransport
        if self.variant == "hangs-up":
            return
        sock = TSocket.TSocket()
        sock.setHandle(connection)
        transport = TTransport.TBufferedTransport(sock)
        protocol = TBinaryProtocol(transport)
        try:
            while True:
                self.processor.process(protocol, protocol)
        except TTransport.TTransportException:  # the client closed
            pass
