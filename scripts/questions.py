"""What `make check` asks each service: one real request, as a client on the user's
machine makes it, through the address the stack's outputs give (docs/check.md).

A question is a small function keyed by the service's name, registered with
`@question(key, asks=...)`: it gets a `Target` (the service's entry of the `services`
output, every output of the stack) and returns one line of what it found, or raises
`Failed` (one line of cause, and the way out when it knows one better than the
engine's). A service named `kafka-2` is asked by the question keyed `kafka-2`, else by
the one keyed `kafka`. A service without a question is listed as "no check yet".

Clients (docs/check.md says why each): requests (HTTP), confluent-kafka (Kafka,
scripts/kafka_check.py), psycopg (Postgres), boto3 (S3), kazoo (ZooKeeper), redis
(Redis), PyMySQL (StarRocks's MySQL protocol), pymetastore's Thrift client of the Hive
Metastore (on thrift).
"""

from __future__ import annotations

import copy
import json
import logging
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional
from urllib.parse import urljoin, urlsplit

import boto3
import botocore.config
import botocore.exceptions
import psycopg
import pymysql
import redis
import requests
from kazoo.client import KazooClient
from kazoo.handlers.threading import KazooTimeoutError
from pymetastore.hive_metastore import ThriftHiveMetastore
from thrift.protocol.TBinaryProtocol import TBinaryProtocol
from thrift.Thrift import TException
from thrift.transport import TSocket, TTransport

CONNECT_TIMEOUT = 2.0  # seconds to open a connection
READ_TIMEOUT = 5.0  # seconds for an answer
PREFIX = "fhl-check-"  # what the check makes (a topic, a subject) is named so, and removed


class Failed(Exception):
    """A wrong answer: its cause in one line, and the way out where the question knows it."""

    def __init__(self, cause: str, way_out: Optional[str] = None):
        super().__init__(cause)
        self.cause = " ".join(cause.split())
        self.way_out = way_out


class Unreachable(Failed):
    """Nothing answers at an address the stack gives: the way out is the engine's (a port
    forward that is not running, a container that stopped), for the service published at
    `address` (the jobmanager, when a taskmanager's question cannot reach it)."""

    def __init__(self, cause: str, way_out: Optional[str] = None, address: str = ""):
        super().__init__(cause, way_out)
        self.address = address


def nothing_answers(address: str, why: str) -> Unreachable:
    return Unreachable(f"nothing answers at {address} ({why})", address=address)


class Shared:
    """Answers that several services' questions share, each computed once (one Kafka round
    trip for every broker, one taskmanager list for the jobmanager and every taskmanager),
    while the questions run at the same time."""

    def __init__(self):
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._answers: dict[str, tuple[Any, Optional[BaseException]]] = {}

    def get(self, key: str, compute: Callable[[], Any]) -> Any:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._answers:
                try:
                    self._answers[key] = (compute(), None)
                except Exception as error:  # every asker gets the same failure
                    self._answers[key] = (None, error)
        value, error = self._answers[key]
        if isinstance(error, Failed):  # a copy for each asker: they run in threads of their own
            raise copy.copy(error)
        if error is not None:
            raise error
        return value


@dataclass
class Target:
    """What a question gets: the service's name and its entry of the `services` output
    ({"stack", "workload", "oneShot", "addresses"}), every output of the stack, and the
    answers its questions share."""

    name: str
    service: Mapping[str, Any]
    outputs: Mapping[str, Any]
    shared: Shared
    stack: str = "dev"

    @property
    def address(self) -> str:
        """HOST:PORT of the service's first published port ("" when it has none)."""
        addresses = self.service.get("addresses") or []
        return addresses[0] if addresses else ""

    def output(self, key: str) -> Any:
        if key not in self.outputs:
            raise Failed(f"the stack's outputs lack `{key}`, which this question needs",
                         f"`make up STACK={self.stack}` records it")
        return self.outputs[key]

    def services_like(self, key: str) -> list[str]:
        """Names of the services that the question keyed `key` asks (kafka -> kafka-1, ...)."""
        return sorted(n for n in self.outputs.get("services", {}) if key in (n, stem(n)))


def always(outputs: Mapping[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class Question:
    key: str
    asks: str  # what it asks, a format string over the outputs, {name} and {address}
    ask: Callable[[Target], str]  # returns what it found; raises Failed
    # whether it is the question for the stack's outputs: a service that runs otherwise
    # under a setting (spark-iceberg with catalog hive) has one question per way
    when: Callable[[Mapping[str, Any]], bool] = always


QUESTIONS: dict[str, list[Question]] = {}


def question(key: str, asks: str, when: Callable[[Mapping[str, Any]], bool] = always):
    """Register the question of the services named `key` (or `key-N`); `when` (of the
    stack's outputs) says which of a key's questions asks."""
    def register(ask: Callable[[Target], str]) -> Callable[[Target], str]:
        if any(q.when is when for q in QUESTIONS.get(key, [])):
            raise ValueError(f"two questions for {key}")
        QUESTIONS.setdefault(key, []).append(Question(key, asks, ask, when))
        return ask
    return register


def stem(name: str) -> str:
    """A numbered service's family: kafka-2 -> kafka."""
    return re.sub(r"-\d+$", "", name)


def question_for(name: str, outputs: Optional[Mapping[str, Any]] = None) -> Optional[Question]:
    """The question of service `name` on a stack with these outputs (None: it has none)."""
    outputs = outputs or {}
    for key in (name, stem(name)):
        chosen = [q for q in QUESTIONS.get(key, []) if q.when(outputs)]
        if chosen:
            return chosen[0]
    return None


class _Fields(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def asked(q: Question, target: Target) -> str:
    """What the question asks of this service, in words."""
    fields = _Fields({k: v for k, v in target.outputs.items() if isinstance(v, (str, int, bool))})
    fields.update(name=target.name, address=target.address or "?")
    return q.asks.format_map(fields)


# -- how the clients fail, in one line -----------------------------------------------

def _why(error: BaseException) -> str:
    text = str(error)
    for needle, why in (("refused", "connection refused"), ("timed out", "no answer"),
                        ("Name or service not known", "unknown host"), ("nodename nor servname", "unknown host"),
                        ("No route to host", "no route to host"), ("reset by peer", "connection reset")):
        if needle.lower() in text.lower():
            return why
    return text.splitlines()[0][:200] if text else type(error).__name__


def reachable(address: str, timeout: float = CONNECT_TIMEOUT) -> Optional[str]:
    """None when something accepts a TCP connection at HOST:PORT, else why not."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return None
    except (OSError, ValueError) as error:
        return _why(error)


def http(method: str, url: str, expect: Optional[tuple[int, ...]] = (200,), **kwargs) -> requests.Response:
    """One HTTP request, straight to the address (no proxy from the environment): Unreachable
    when nothing answers, Failed when the status is not one of `expect`."""
    with requests.Session() as session:
        session.trust_env = False
        try:
            response = session.request(method, url, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), **kwargs)
        except requests.ConnectTimeout:
            raise nothing_answers(urlsplit(url).netloc, f"no connection within {CONNECT_TIMEOUT:.0f}s") from None
        except requests.ReadTimeout:
            raise Failed(f"{method} {url} took the request and gave no answer within {READ_TIMEOUT:.0f}s") from None
        except requests.ConnectionError as error:
            raise nothing_answers(urlsplit(url).netloc, _why(error)) from None
    if expect and response.status_code not in expect:
        raise Failed(f"{method} {url} answered {response.status_code} {_gist(response)}")
    return response


def _gist(response: requests.Response) -> str:
    """What an answer's body says, in one line: a JSON body's message or last error, the
    root cause of a Java stack trace in it, else its first line."""
    text = response.text.strip()
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):  # Confluent's {"message"}, Flink's {"errors": [...]}, Iceberg's {"error": {...}}
        error, errors = body.get("error"), body.get("errors")
        error = error.get("message") if isinstance(error, dict) else error
        text = str(body.get("message") or error or (errors[-1] if isinstance(errors, list) and errors else "") or text)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    causes = [ln for ln in lines if ln.startswith("Caused by:")]
    line = (causes or lines or [""])[-1 if causes else 0]
    return f"({line[:160]})" if line else ""


def json_of(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise Failed(f"{response.request.method} {response.url} answered something that is not JSON "
                     f"{_gist(response)}") from None


# -- the questions -------------------------------------------------------------------

@question("schema", asks="as {schemaRegistryUser}, a schema under a subject made for the check is registered at "
                         "{schemaRegistryUrl}, read back and deleted; without a login, 401")
def schema_registry(t: Target) -> str:
    url, user = t.output("schemaRegistryUrl"), t.output("schemaRegistryUser")
    auth = (user, t.output("schemaRegistryPassword"))
    anonymous = http("GET", f"{url}/subjects", expect=None)
    if anonymous.status_code != 401:
        raise Failed(f"GET {url}/subjects without a login answered {anonymous.status_code}, not 401: "
                     "the registry's basic auth is off",
                     f"its settings ask for BASIC auth; `make up STACK={t.stack}` puts them back")
    subject = f"{PREFIX}{uuid.uuid4().hex[:8]}-value"
    schema = {"type": "record", "name": "FhlCheck", "fields": [{"name": "ok", "type": "boolean"}]}
    headers = {"Content-Type": "application/vnd.schemaregistry.v1+json"}
    registered = http("POST", f"{url}/subjects/{subject}/versions", expect=None, auth=auth, headers=headers,
                      json={"schema": json.dumps(schema)})
    if registered.status_code == 401:
        raise Failed(f"the registry refuses {user} (401): its realm and the stack's login differ",
                     "the realm is resources/kpow/schema/schema_realm.properties, the login Kpow's "
                     f"SCHEMA_REGISTRY_USER/PASSWORD; make them match, then `make up STACK={t.stack}`")
    if registered.status_code != 200:
        raise Failed(f"registering a schema under {subject} answered {registered.status_code} {_gist(registered)}")
    try:
        latest = json_of(http("GET", f"{url}/subjects/{subject}/versions/latest", auth=auth))
        if json.loads(latest.get("schema", "null")) != schema:
            raise Failed(f"{subject} reads back another schema than the one registered: {latest.get('schema')}")
    finally:
        _delete_subject(url, subject, auth)
    return f"schema id {json_of(registered).get('id')} under {subject}: registered, read back, deleted; " \
           "without a login: 401"


def _delete_subject(url: str, subject: str, auth: tuple[str, str]) -> None:
    """Soft, then hard delete (the registry refuses a hard delete first)."""
    for query in ("", "?permanent=true"):
        gone = http("DELETE", f"{url}/subjects/{subject}{query}", expect=None, auth=auth)
        if gone.status_code != 200:
            raise Failed(f"deleting {subject}{query} answered {gone.status_code} {_gist(gone)}: the subject "
                         "is left behind",
                         f"delete it: `curl -u USER:PASSWORD -X DELETE {url}/subjects/{subject}` (then with "
                         "?permanent=true)")


@question("connect", asks="{kafkaConnectUrl}/connector-plugins lists every connector the downloads provide")
def connect(t: Target) -> str:
    url, expected = t.output("kafkaConnectUrl"), t.output("kafkaConnectPlugins")
    plugins = json_of(http("GET", f"{url}/connector-plugins"))
    classes = {p.get("class") for p in plugins if isinstance(p, dict)}
    missing = [c for c in expected if c not in classes]
    if missing:
        raise Failed(f"Connect lacks {', '.join(missing)} ({len(classes)} plugins listed)",
                     "the downloaded connectors are baked into Connect's image: `make up STACK="
                     f"{t.stack}` lays them out again and rebuilds it")
    return f"all {len(expected)} downloaded connectors among {len(classes)} plugins"


def _ui(t: Target, url_key: str, login_key: str, product: str) -> str:
    """A Factor House UI answers; asks for a login (401, a redirect to a login page, or a
    page with a password field) where its settings switch one on."""
    url, wants_login = t.output(url_key), t.output(login_key)
    page = http("GET", f"{url}/", expect=None, allow_redirects=True)
    if page.status_code not in (200, 401):
        raise Failed(f"{product} at {url} answered {page.status_code} {_gist(page)}")
    login = page.status_code == 401 or "login" in urlsplit(page.url).path.lower() \
        or bool(re.search(r"type=[\"']?password|j_security_check", page.text, re.I))
    if wants_login and not login:
        raise Failed(f"{product} at {url} answers without asking for a login, though its settings "
                     f"(the {t.outputs.get('edition', '?')} edition's) switch one on")
    return f"answers {page.status_code}" + (", asks for a login" if login else ", no login")


@question("kpow", asks="{kpowUrl} answers, asking for a login where the edition has one")
def kpow(t: Target) -> str:
    return _ui(t, "kpowUrl", "kpowLogin", "Kpow")


@question("flex", asks="{flexUrl} answers, asking for a login where the edition has one")
def flex(t: Target) -> str:
    return _ui(t, "flexUrl", "flexLogin", "Flex")


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


@question("rest", asks="{icebergRestUrl}/v1/config answers the catalog's configuration")
def iceberg_rest(t: Target) -> str:
    config = json_of(http("GET", f"{t.output('icebergRestUrl')}/v1/config"))
    if not isinstance(config, dict) or not isinstance(config.get("defaults"), dict) \
            or not isinstance(config.get("overrides"), dict):
        raise Failed(f"/v1/config answered {str(config)[:120]}, without the catalog's defaults and overrides")
    return f"defaults {sorted(config['defaults']) or 'none'}, overrides {sorted(config['overrides']) or 'none'}"


def rest_catalog(outputs: Mapping[str, Any]) -> bool:
    return outputs.get("catalog", "rest") != "hive"


def hive_catalog(outputs: Mapping[str, Any]) -> bool:
    return outputs.get("catalog") == "hive"


@question("spark-iceberg", when=rest_catalog,
          asks="Jupyter ({jupyterUrl}/api) answers; the Spark master ({sparkUiUrl}/json/) is alive, with a worker")
def spark(t: Target) -> str:
    jupyter = json_of(http("GET", f"{t.output('jupyterUrl')}/api"))
    if "version" not in jupyter:
        raise Failed(f"{t.output('jupyterUrl')}/api answered without Jupyter's version: {str(jupyter)[:120]}")
    master = json_of(http("GET", f"{t.output('sparkUiUrl')}/json/"))
    workers = master.get("aliveworkers", 0)
    if master.get("status") != "ALIVE" or workers < 1:
        raise Failed(f"the Spark master is {master.get('status')} with {workers} live workers")
    return f"Jupyter {jupyter['version']}; Spark master alive, {workers} worker(s)"


@question("spark-iceberg", when=hive_catalog,
          asks="the Spark history server ({sparkHistoryUrl}/api/v1/applications) lists the applications it keeps")
def spark_history(t: Target) -> str:
    url = t.output("sparkHistoryUrl")
    applications = json_of(http("GET", f"{url}/api/v1/applications"))
    if not isinstance(applications, list):
        raise Failed(f"{url}/api/v1/applications answered {str(applications)[:120]}, not a list of applications")
    return f"the history server lists {len(applications)} application(s)"


def _s3(t: Target):
    """An S3 client of MinIO with the platform's credentials, as Spark and Iceberg use them."""
    config = botocore.config.Config(connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
                                    retries={"max_attempts": 1}, s3={"addressing_style": "path"})
    return boto3.session.Session().client(
        "s3", endpoint_url=t.output("minioApiUrl"), region_name="us-east-1", config=config,
        aws_access_key_id=t.output("minioUser"), aws_secret_access_key=t.output("minioPassword"))


def _s3_call(t: Target, call: Callable[[], Any]) -> Any:
    """An S3 request; its failure in one line."""
    try:
        return call()
    except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError) as error:
        cause = error.kwargs.get("error", error)  # urllib3's, which says why
        raise nothing_answers(urlsplit(t.output("minioApiUrl")).netloc, _why(cause)) from None
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "?")
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403"):
            raise Failed(f"MinIO refuses the platform's credentials ({t.output('minioUser')}): {code}",
                         f"MinIO takes minioUser and minioPassword when it starts: `make up STACK={t.stack}` "
                         "re-creates it with the stack's") from None
        raise


@question("minio", asks="S3 at {minioApiUrl} lists the buckets with the platform's credentials ({minioUser})")
def minio(t: Target) -> str:
    s3 = _s3(t)
    names = [b["Name"] for b in _s3_call(t, s3.list_buckets).get("Buckets", [])]
    return f"{len(names)} buckets: {', '.join(names) or 'none'}"


@question("mc", asks="the buckets the set-up makes exist at {minioApiUrl}")
def buckets(t: Target) -> str:
    s3, missing = _s3(t), []
    for bucket in t.output("minioBuckets"):
        try:
            _s3_call(t, lambda: s3.head_bucket(Bucket=bucket))
        except botocore.exceptions.ClientError:
            missing.append(bucket)
    if missing:
        raise Failed(f"bucket {', '.join(missing)} does not exist",
                     f"`make up STACK={t.stack}` runs the bucket set-up again (it never removes anything)")
    return f"buckets {', '.join(t.output('minioBuckets'))} exist"


def _postgres(t: Target, dsn: str, sql: str, wrong_password: str, params: tuple = ()) -> tuple:
    """The first row of `sql` (with `params`), logged in with `dsn` (psycopg); Failed when Postgres refuses
    the login (the way out `wrong_password`), Unreachable when nothing answers."""
    address = urlsplit(dsn).netloc.rpartition("@")[2]
    try:
        with psycopg.connect(dsn, connect_timeout=int(CONNECT_TIMEOUT + 1)) as conn:
            return conn.execute(sql, params).fetchone()
    except psycopg.OperationalError as error:
        text = str(error)
        if "password authentication failed" in text:
            user = urlsplit(dsn).username
            raise Failed(f"Postgres at {address} refuses {user}'s login (password authentication failed)",
                         wrong_password) from None
        if "refused" in text or "timeout" in text or "could not" in text:
            raise nothing_answers(address, _why(error)) from None
        raise Failed(f"Postgres: {text.splitlines()[0]}") from None


@question("postgres", asks="the platform's user logs in at {address}, and wal_level is logical")
def postgres(t: Target) -> str:
    user, wal_level = _postgres(
        t, t.output("postgresDsn"), "SELECT current_user, current_setting('wal_level')",
        "Postgres keeps the password its data volume was first made with: set postgresPassword back, or change "
        "it in Postgres (ALTER USER db_user PASSWORD ...)")
    if wal_level != "logical":
        raise Failed(f"wal_level is {wal_level}, not logical: change data capture (Debezium, publication "
                     "cdc_pub) cannot read the database",
                     f"the platform starts Postgres with `-c wal_level=logical`: `make up STACK={t.stack}` "
                     "re-creates a container that was started otherwise")
    return f"{user} logged in; wal_level is logical"


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


_QUIET = logging.getLogger("factorhouse.check.quiet")  # the clients' own logging, not the user's screen
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False
# the Thrift library logs a failed connection as an error of its own: the row says it
logging.getLogger("thrift").addHandler(logging.NullHandler())
logging.getLogger("thrift").propagate = False


@question("zookeeper", asks="a ZooKeeper session at {address} lists the root znodes")
def zookeeper(t: Target) -> str:
    why = reachable(t.address)
    if why:
        raise nothing_answers(t.address, why)
    client = KazooClient(hosts=t.address, timeout=READ_TIMEOUT, logger=_QUIET)
    try:
        client.start(timeout=READ_TIMEOUT)
        children = sorted(client.get_children("/"))
    except KazooTimeoutError:
        raise Failed(f"{t.address} takes connections but opens no ZooKeeper session within "
                     f"{READ_TIMEOUT:.0f}s") from None
    finally:
        client.stop()
        client.close()
    return f"root znodes: {', '.join(children)}"


# -- the one-shot of the Hive Metastore, and the metastore --------------------------------

@question("metastore-db", asks="the database its set-up makes ({metastoreDatabase}) exists in the platform's Postgres")
def metastore_database(t: Target) -> str:
    database = t.output("metastoreDatabase")
    [owner] = _postgres(t, t.output("postgresDsn"),
                        "SELECT (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s)",
                        "the set-up logs in as db_user with postgresPassword: set it back, or change it in Postgres",
                        (database,))
    if owner is None:
        raise Failed(f"database {database} does not exist in the platform's Postgres",
                     f"`make up STACK={t.stack}` runs the set-up again (it makes only what is missing)")
    return f"database {database} exists (owner {owner})"


@question("hive-metastore", asks="a Thrift call at {hiveMetastoreUri}, get_all_databases, lists the databases")
def hive_metastore(t: Target) -> str:
    uri = t.output("hiveMetastoreUri")
    host, _, port = urlsplit(uri).netloc.rpartition(":")
    # as the metastore's clients (Spark, Flink) speak: binary protocol, buffered transport
    sock = TSocket.TSocket(host, int(port))
    sock.setTimeout(CONNECT_TIMEOUT * 1000)  # milliseconds
    transport = TTransport.TBufferedTransport(sock)
    try:
        transport.open()
    except TTransport.TTransportException as error:
        raise nothing_answers(f"{host}:{port}", _why(error.inner or error)) from None
    sock.setTimeout(READ_TIMEOUT * 1000)
    try:
        databases = ThriftHiveMetastore.Client(TBinaryProtocol(transport)).get_all_databases()
    except TTransport.TTransportException as error:
        raise Failed(f"the metastore at {host}:{port} takes connections but gives no Thrift answer ({error})") \
            from None
    except (TException, OSError) as error:
        raise Failed(f"the metastore at {host}:{port} takes connections but its get_all_databases failed: "
                     f"{type(error).__name__}: {error}") from None
    finally:
        transport.close()
    if "default" not in databases:
        raise Failed(f"the metastore lists no database default ({databases}): its schema was not made",
                     "its start makes the schema (schematool) where it is missing: read its log")
    return f"{len(databases)} database(s): {', '.join(sorted(databases))}"


# -- telemetry ------------------------------------------------------------------------

def _logs_of(service: str, stack: str) -> str:
    return f"read its log: `make logs S={service} STACK={stack}`"


@question("prometheus", asks="{prometheusUrl}/-/ready; its targets (/api/v1/targets) are every one the stack "
                             "scrapes, none down")
def prometheus(t: Target) -> str:
    url, expected = t.output("prometheusUrl"), t.output("prometheusTargets")
    http("GET", f"{url}/-/ready")  # 503 while it starts
    answer = json_of(http("GET", f"{url}/api/v1/targets", params={"state": "active"}))
    targets = (answer.get("data") or {}).get("activeTargets") or []
    scraped = {(x.get("scrapePool"), (x.get("labels") or {}).get("instance")) for x in targets}
    missing = [f"{target} (job {job})" for job, listed in sorted(expected.items()) for target in listed
               if (job, target) not in scraped]
    if missing:
        raise Failed(f"Prometheus does not scrape {', '.join(missing)}, which the stack configures",
                     f"Prometheus reads its configuration when it starts: `make up STACK={t.stack}` re-creates "
                     "it with the stack's")
    down = [x for x in targets if x.get("health") == "down"]
    if down:
        first = (down[0].get("labels") or {}).get("instance", "?")
        more = f" (and {len(down) - 1} more)" if len(down) > 1 else ""
        raise Failed(f"target {first} of job {down[0].get('scrapePool')} is down: {down[0].get('lastError')}{more}",
                     _logs_of(first.rpartition(":")[0], t.stack))
    waiting = sum(x.get("health") != "up" for x in targets)
    return f"{len(targets)} targets, {len(targets) - waiting} up" + \
        (f", {waiting} not scraped yet (every 15 s)" if waiting else "")


@question("alertmanager", asks="{alertmanagerUrl}/-/ready, and /api/v2/status names its version")
def alertmanager(t: Target) -> str:
    url = t.output("alertmanagerUrl")
    http("GET", f"{url}/-/ready")
    status = json_of(http("GET", f"{url}/api/v2/status"))
    version = (status.get("versionInfo") or {}).get("version") if isinstance(status, dict) else None
    if not version:
        raise Failed(f"{url}/api/v2/status answered without Alertmanager's version: {str(status)[:120]}")
    return f"ready; Alertmanager {version}"


@question("grafana", asks="{grafanaUrl}/api/health: its database ok; as {grafanaUser}, the provisioned Prometheus "
                          "datasource passes Grafana's own health check of it")
def grafana(t: Target) -> str:
    url, auth = t.output("grafanaUrl"), (t.output("grafanaUser"), t.output("grafanaPassword"))
    health = json_of(http("GET", f"{url}/api/health"))
    if health.get("database") != "ok":
        raise Failed(f"Grafana's database is {health.get('database')!r}, not ok")
    listed = http("GET", f"{url}/api/datasources", expect=None, auth=auth)
    if listed.status_code == 401:
        raise Failed(f"Grafana refuses {auth[0]}'s password (401)",
                     "Grafana keeps the password its data was first made with: set grafanaPassword back, or reset it "
                     f"(`make shell S=grafana STACK={t.stack}`, then `grafana cli admin reset-admin-password NEW`)")
    if listed.status_code != 200:
        raise Failed(f"GET {url}/api/datasources answered {listed.status_code} {_gist(listed)}")
    sources = [d for d in json_of(listed) if isinstance(d, dict) and d.get("type") == "prometheus"]
    if not sources:
        raise Failed("Grafana has no Prometheus datasource: its provisioning did not apply",
                     f"the datasource is provisioned from a file when Grafana starts: `make up STACK={t.stack}` "
                     "re-creates it with the stack's files")
    source = sources[0]
    checked = http("GET", f"{url}/api/datasources/uid/{source.get('uid')}/health", expect=None, auth=auth)
    verdict = json_of(checked)
    if checked.status_code != 200 or verdict.get("status") != "OK":
        raise Failed(f"Grafana cannot query its datasource {source.get('name')} ({source.get('url')}): "
                     f"{verdict.get('message') or checked.status_code}", _logs_of("prometheus", t.stack))
    return f"Grafana {health.get('version', '?')}; datasource {source.get('name')} answers"


# -- lineage --------------------------------------------------------------------------

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
                     _logs_of("marquez-api", t.stack)) from None
    return f"the UI answers; through it, the API lists {len(names)} namespace(s)"


@question("marquez-db", asks="user marquez logs in to database marquez at {address}")
def marquez_db(t: Target) -> str:
    user, database = _postgres(
        t, t.output("marquezDbDsn"), "SELECT current_user, current_database()",
        "Marquez's Postgres keeps the password its data volume was first made with: set marquezPassword back, or "
        "change it in Postgres (ALTER USER marquez PASSWORD ...)")
    return f"{user} logged in to database {database}"


# -- stores ---------------------------------------------------------------------------

@question("redis", asks="PING at {redisUrl} with the password answers PONG; without it, Redis refuses")
def redis_ping(t: Target) -> str:
    url, password = t.output("redisUrl"), t.output("redisPassword")
    if _redis_ping(url, password, t) is not True:
        raise Failed(f"Redis at {url} did not answer PING with PONG")
    try:
        open_to_all = _redis_ping(url, None, t)
    except redis.exceptions.AuthenticationError:
        return "PONG with the password; without it: NOAUTH"
    raise Failed(f"Redis at {url} answers PING without a password (PONG: {open_to_all}): whoever reaches it "
                 "reads and writes it", f"its command sets --requirepass from redisPassword: `make up STACK={t.stack}` "
                 "re-creates it as the stack runs it")


def _redis_ping(url: str, password: Optional[str], t: Target) -> Any:
    """PING once (no retries), with or without the password; AuthenticationError when
    Redis wants one (only without it), Unreachable, Failed."""
    client = redis.Redis.from_url(url, password=password, socket_connect_timeout=CONNECT_TIMEOUT,
                                  socket_timeout=READ_TIMEOUT, retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0))
    try:
        return client.ping()
    except redis.exceptions.AuthenticationError as error:
        if password is None:
            raise
        raise Failed(f"Redis refuses the password ({error})",
                     f"Redis takes redisPassword when it starts: `make up STACK={t.stack}` re-creates it with the "
                     "stack's") from None
    except redis.exceptions.ConnectionError as error:
        raise nothing_answers(urlsplit(url).netloc, _why(error)) from None
    finally:
        client.close()


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
            raise nothing_answers(address, _why(Exception(message))) from None
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
                     f"the one-shot starrocks-register adds it: {_logs_of('starrocks-register', t.stack)}; "
                     f"`make up STACK={t.stack}` runs it again")
    dead = [r for r in rows if str(r.get("Alive")).lower() != "true"]
    if dead:
        raise Failed(f"backend {_backend(dead[0])} is not alive ({dead[0].get('ErrMsg') or 'no heartbeat'})",
                     _logs_of("starrocks-be", t.stack))
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


import scripts.kafka_check  # noqa: E402,F401  (registers the Kafka brokers' question)
