"""What every question of `make check` shares: the registry of questions, what a question
gets and how it fails, and the clients' plumbing (HTTP, S3, Postgres) in one line of
cause each. The questions themselves are in one module per stack (checks/kafka.py,
checks/flink.py, ..., as stacks/ has them); checks/__init__.py imports each, so that every
question is registered.

A question is a small function keyed by the service's name, registered with
`@question(key, asks=...)`: it gets a `Target` (the service's entry of the `services`
output, every output of the stack) and returns one line of what it found, or raises
`Failed` (one line of cause, and the way out when it knows one better than the
engine's). A service named `kafka-2` is asked by the question keyed `kafka-2`, else by
the one keyed `kafka`. A service without a question is listed as "no check yet".

Clients (docs/check.md says why each): requests (HTTP), confluent-kafka (Kafka,
checks/kafka.py), psycopg (Postgres), boto3 (S3), kazoo (ZooKeeper), redis (Redis),
PyMySQL (StarRocks's MySQL protocol), pymetastore's Thrift client of the Hive Metastore
(on thrift).
"""

from __future__ import annotations

import copy
import json
import logging
import re
import socket
import threading
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional
from urllib.parse import urlsplit

import boto3
import botocore.config
import botocore.exceptions
import psycopg
import requests

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

def cause_of(error: BaseException) -> str:
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
        return cause_of(error)


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
            raise nothing_answers(urlsplit(url).netloc, cause_of(error)) from None
    if expect and response.status_code not in expect:
        raise Failed(f"{method} {url} answered {response.status_code} {gist(response)}")
    return response


def gist(response: requests.Response) -> str:
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
                     f"{gist(response)}") from None


# -- which catalog a stack runs (spark-iceberg is asked one way per catalog) -----------

def rest_catalog(outputs: Mapping[str, Any]) -> bool:
    return outputs.get("catalog", "rest") != "hive"


def hive_catalog(outputs: Mapping[str, Any]) -> bool:
    return outputs.get("catalog") == "hive"


# -- S3, Postgres: the clients several stacks' questions use ---------------------------

def s3_client(t: Target):
    """An S3 client of MinIO with the platform's credentials, as Spark and Iceberg use them."""
    config = botocore.config.Config(connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
                                    retries={"max_attempts": 1}, s3={"addressing_style": "path"})
    return boto3.session.Session().client(
        "s3", endpoint_url=t.output("minioApiUrl"), region_name="us-east-1", config=config,
        aws_access_key_id=t.output("minioUser"), aws_secret_access_key=t.output("minioPassword"))


def s3_call(t: Target, call: Callable[[], Any]) -> Any:
    """An S3 request; its failure in one line."""
    try:
        return call()
    except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError) as error:
        cause = error.kwargs.get("error", error)  # urllib3's, which says why
        raise nothing_answers(urlsplit(t.output("minioApiUrl")).netloc, cause_of(cause)) from None
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "?")
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403"):
            raise Failed(f"MinIO refuses the platform's credentials ({t.output('minioUser')}): {code}",
                         f"MinIO takes minioUser and minioPassword when it starts: `make up STACK={t.stack}` "
                         "re-creates it with the stack's") from None
        raise


def postgres_row(t: Target, dsn: str, sql: str, wrong_password: str, params: tuple = ()) -> tuple:
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
            raise nothing_answers(address, cause_of(error)) from None
        raise Failed(f"Postgres: {text.splitlines()[0]}") from None


QUIET = logging.getLogger("factorhouse.check.quiet")  # the clients' own logging, not the user's screen
QUIET.addHandler(logging.NullHandler())
QUIET.propagate = False


def logs_of(service: str, stack: str) -> str:
    return f"read its log: `make logs S={service} STACK={stack}`"
