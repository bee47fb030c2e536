"""Local HTTP servers that answer `make check`'s questions as the real services do, for
the tests of scripts/questions.py. Each answers the requests the check makes with the
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
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import urlsplit

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

Answer = tuple[int, dict, bytes]  # status, headers, body


def _json(status: int, value, content_type: str = "application/json") -> Answer:
    return status, {"Content-Type": content_type}, json.dumps(value).encode()


def _text(status: int, text: str, content_type: str = "text/plain") -> Answer:
    return status, {"Content-Type": content_type}, text.encode()


class FakeService:
    """An HTTP server on 127.0.0.1 (a free port) whose `answer(method, path, headers, body)`
    gives every answer; `requests` records (method, path) of each request."""

    def __init__(self, delay: float = 0.0):
        self.requests: list[tuple[str, str]] = []
        self.delay = delay
        service = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                service.requests.append((self.command, self.path))
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
            return _json(401, {"error_code": 401, "message": "Unauthorized"})
        parts = urlsplit(path)
        match = re.fullmatch(r"/subjects/([^/]+)(/versions(/latest)?)?", parts.path)
        if parts.path == "/subjects" and method == "GET":
            return _json(200, [s for s, v in self.subjects.items() if not v["deleted"]])
        if not match:
            return _json(404, {"error_code": 404, "message": "HTTP 404 Not Found"})
        subject = match.group(1)
        entry = self.subjects.get(subject)
        if method == "POST" and match.group(2) and not match.group(3):
            schema = json.loads(body)["schema"]
            json.loads(schema)  # a schema the registry can parse
            self.subjects[subject] = {"schema": schema, "id": self.next_id, "deleted": False}
            self.next_id += 1
            return _json(200, {"id": self.subjects[subject]["id"]}, "application/vnd.schemaregistry.v1+json")
        if method == "GET" and match.group(3):
            if not entry or entry["deleted"]:
                return _json(404, {"error_code": 40401, "message": f"Subject '{subject}' not found."})
            return _json(200, {"subject": subject, "version": 1, "id": entry["id"], "schema": entry["schema"]})
        if method == "DELETE" and not match.group(2):
            if not entry:
                return _json(404, {"error_code": 40401, "message": f"Subject '{subject}' not found."})
            if "permanent=true" in (parts.query or ""):
                if not entry["deleted"]:
                    return _json(404, {"error_code": 40405, "message": f"Subject '{subject}' was not deleted "
                                                                       "first before being permanently deleted"})
                del self.subjects[subject]
            else:
                entry["deleted"] = True
            return _json(200, [1])
        return _json(405, {"error_code": 405, "message": "HTTP 405 Method Not Allowed"})


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
            return _json(200, listed)
        if method == "GET" and path == "/":
            return _json(200, {"version": "7.8.0-ccs", "commit": "1", "kafka_cluster_id": "x"})
        return _json(404, {"error_code": 404, "message": "HTTP 404 Not Found"})


class JobManager(FakeService):
    def __init__(self, slots: list[int]):
        self.slots = slots  # one taskmanager per entry, with that many slots
        super().__init__()

    def answer(self, method, path, headers, body):
        if method == "GET" and path == "/taskmanagers":
            return _json(200, {"taskmanagers": [
                {"id": f"172.18.0.{n + 5}:6122-{uuid.uuid4().hex[:6]}", "path": f"pekko.tcp://flink@172.18.0.{n + 5}:6122/user/rpc/taskmanager_0",
                 "dataPort": 6121, "jmxPort": -1, "timeSinceLastHeartbeat": 1700000000000, "slotsNumber": s,
                 "freeSlots": s, "blocked": False} for n, s in enumerate(self.slots)]})
        return _json(404, {"errors": ["Not found: /" + path]})


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
            return _json(200, {"sessionHandle": handle})
        session = self.sessions.get(parts[2]) if len(parts) > 2 else None
        if session is None or session["closed"]:
            return _json(404, {"errors": ["Session does not exist."]})
        if method == "DELETE" and len(parts) == 3:
            session["closed"] = True
            return _json(200, {"status": "CLOSED"})
        if method == "POST" and parts[3:] == ["statements"]:
            assert json.loads(body) == {"statement": "SELECT 1"}
            handle = str(uuid.uuid4())
            session["operations"][handle] = 0
            return _json(200, {"operationHandle": handle})
        if method == "GET" and len(parts) == 7 and parts[3] == "operations" and parts[5] == "result":
            return self._result(session, parts[4], int(parts[6]))
        return _json(404, {"errors": ["Unable to find a handler for " + path]})

    def _result(self, session: dict, operation: str, token: int) -> Answer:
        base = f"/v1/sessions/{[h for h, s in self.sessions.items() if s is session][0]}/operations/{operation}/result"
        if self.variant == "error":
            return _json(500, {"errors": ["Internal server error.", "<Exception on server side:\n"
                                          "org.apache.flink.table.gateway.api.utils.SqlGatewayException: "
                                          "Failed to fetchResults.\nCaused by: org.apache.flink.runtime.jobmanager."
                                          "scheduler.NoResourceAvailableException: Could not acquire the minimum "
                                          "required resources.\n\tat ...\n\nEnd of exception on server side>"]})
        session["operations"][operation] += 1
        if session["operations"][operation] <= self.not_ready:
            return _json(200, {"resultType": "NOT_READY", "isQueryResult": False, "resultKind": "SUCCESS_WITH_CONTENT",
                               "results": {"columns": [], "data": []}, "nextResultUri": f"{base}/{token}"})
        if token == 0 and self.variant != "empty":
            return _json(200, {"resultType": "PAYLOAD", "isQueryResult": True, "jobID": uuid.uuid4().hex,
                               "resultKind": "SUCCESS_WITH_CONTENT",
                               "results": {"columns": [{"name": "EXPR$0", "logicalType": {"type": "INTEGER",
                                                                                          "nullable": False}}],
                                           "data": [{"kind": "INSERT", "fields": [1]}]},
                               "nextResultUri": f"{base}/1"})
        return _json(200, {"resultType": "EOS", "isQueryResult": True, "resultKind": "SUCCESS_WITH_CONTENT",
                           "results": {"columns": [], "data": []}})


class IcebergRest(FakeService):
    def __init__(self, variant: str = "ok"):
        self.variant = variant
        super().__init__()

    def answer(self, method, path, headers, body):
        if method == "GET" and path.startswith("/v1/config"):
            if self.variant == "broken":
                return _json(500, {"error": {"message": "Unable to load catalog", "type": "RuntimeException",
                                             "code": 500}})
            return _json(200, {"defaults": {}, "overrides": {"warehouse": "s3://warehouse/"},
                               "endpoints": ["GET /v1/{prefix}/namespaces"]})
        return _json(404, {"error": {"message": "not found", "type": "NotFoundException", "code": 404}})


class PinotController(FakeService):
    def __init__(self, healthy: bool = True, servers: int = 1, enabled: bool = True):
        self.healthy, self.enabled = healthy, enabled
        self.instances = ["Controller_pinot-controller_9000", "Broker_pinot-broker_8099"] + \
            [f"Server_172.18.0.{9 + n}_8098" for n in range(servers)]
        super().__init__()

    def answer(self, method, path, headers, body):
        if path == "/health":
            return _text(200, "OK") if self.healthy else _text(503, "Pinot controller is not ready")
        if path == "/instances":
            return _json(200, {"instances": self.instances})
        name = path.rsplit("/", 1)[1]
        if path.startswith("/instances/") and name in self.instances:
            host, port = name.split("_")[1:3]
            return _json(200, {"instanceName": name, "hostName": host, "enabled": self.enabled, "port": port,
                               "tags": ["DefaultTenant_OFFLINE", "DefaultTenant_REALTIME"], "pools": None,
                               "grpcPort": 8090, "adminPort": 8097})
        return _json(404, {"code": 404, "error": f"Instance {name} not found"})


class PinotBroker(FakeService):
    def __init__(self, healthy: bool = True, says: str = "OK"):
        self.healthy, self.says = healthy, says
        super().__init__()

    def answer(self, method, path, headers, body):
        if path == "/health":
            return _text(200, self.says) if self.healthy else _text(503, "Pinot broker is not ready")
        return _text(404, "Not found")


class FactorHouseUi(FakeService):
    """variant: login (Jetty's form login: a redirect to /login) | open | broken."""

    def __init__(self, variant: str = "login"):
        self.variant = variant
        super().__init__()

    def answer(self, method, path, headers, body):
        if self.variant == "broken":
            return _text(502, "<html><body>Bad Gateway</body></html>", "text/html")
        if self.variant == "login" and path != "/login":
            return 302, {"Location": f"{self.url}/login"}, b""
        if path == "/login":
            return _text(200, '<form method="POST" action="j_security_check"><input name="j_username">'
                              '<input type="password" name="j_password"></form>', "text/html")
        return _text(200, "<html><head><title>Kpow</title></head><body><div id=app></div></body></html>", "text/html")


class Jupyter(FakeService):
    def answer(self, method, path, headers, body):
        if path == "/api":
            return _json(200, {"version": "6.5.4"})
        return _text(404, "Not found")


class SparkMaster(FakeService):
    def __init__(self, workers: int = 1):
        self.workers = workers
        super().__init__()

    def answer(self, method, path, headers, body):
        if path == "/json":
            return 302, {"Location": f"{self.url}/json/"}, b""
        if path == "/json/":
            return _json(200, {"url": "spark://spark-iceberg:7077", "workers": [
                {"id": f"worker-{n}", "host": "172.18.0.7", "port": 40000 + n, "state": "ALIVE", "cores": 2}
                for n in range(self.workers)], "aliveworkers": self.workers, "cores": 2 * self.workers,
                "coresused": 0, "activeapps": [], "completedapps": [], "activedrivers": [],
                "completeddrivers": [], "status": "ALIVE"})
        return _text(404, "Not found")


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
