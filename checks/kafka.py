"""The Kafka stack's questions (stacks/kafka.py): the schema registry, Connect, ZooKeeper,
and the Kafka brokers' (docs/check.md): one round trip for the whole cluster, whose
answer every broker's row shares.

1. The bootstrap servers (`kafkaBootstrapServers`) answer a metadata request; it must
   list every broker (`kafkaBrokerIds`: service -> broker id) at the address the stack
   publishes it at (its entry of `services`), and something must answer there: a client
   reaches a broker only at the address the broker advertises.
2. A topic made for the check (fhl-check-<random>) gets one partition on each broker that
   passed, each led by that broker; one message is produced to each partition and
   consumed back, so that every broker is reached at its advertised address.
3. The topic is deleted. The consumer reads assigned partitions and commits nothing: no
   consumer group stays behind.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from dataclasses import dataclass
from typing import Mapping, Optional

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kazoo.client import KazooClient
from kazoo.handlers.threading import KazooTimeoutError

from .plumbing import (Failed, PREFIX, QUIET, READ_TIMEOUT, Target, Unreachable, gist, http, json_of, nothing_answers,
                       question, reachable)

ROUND_TRIP_SECONDS = 10.0  # to create the topic, deliver the messages, read them back
# for the metadata: where every broker advertises an address nothing serves, the client
# (librdkafka 2.x) drops the bootstrap connection once it learned the brokers, fails to
# reach them, and bootstraps again: an answer takes up to a few seconds
METADATA_SECONDS = 10.0


@dataclass
class Broker:
    service: str
    id: int
    address: str  # where the stack publishes it
    advertised: str = ""


def _client_config(bootstrap: str) -> dict:
    return {"bootstrap.servers": bootstrap, "socket.connection.setup.timeout.ms": 3000,
            "logger": QUIET, "error_cb": lambda error: None}


def _brokers(outputs: Mapping) -> list[Broker]:
    ids, services = outputs.get("kafkaBrokerIds") or {}, outputs.get("services") or {}
    return [Broker(name, int(ids[name]), (services.get(name, {}).get("addresses") or ["?"])[0])
            for name in sorted(ids, key=lambda n: int(ids[n]))]


def _listed(broker: Broker, metadata) -> Optional[Failed]:
    """Whether the metadata lists the broker where the stack publishes it, and it answers there."""
    listed = metadata.brokers.get(broker.id)
    if listed is None:
        ids = ", ".join(str(i) for i in sorted(metadata.brokers)) or "none"
        return Failed(f"broker {broker.id} ({broker.service}) is not in the cluster's metadata (it lists {ids})")
    broker.advertised = f"{listed.host}:{listed.port}"
    why = reachable(broker.advertised)
    if broker.advertised != broker.address:
        there = f"; nothing answers there ({why})" if why else ""
        return Failed(f"{broker.service} advertises {broker.advertised}, not {broker.address} where the stack "
                      f"publishes it{there}",
                      "its advertised listener is made from hostAddress and portOffset: `make up` re-creates a "
                      "broker started with other ones")
    if why:
        return Unreachable(f"{broker.service} advertises {broker.advertised}, nothing answers there ({why})",
                           address=broker.advertised)
    return None


def _produce(bootstrap: str, topic: str, brokers: list[Broker], token: bytes) -> dict[int, str]:
    """One message to each partition (partition i is led by brokers[i]); partition -> error."""
    errors: dict[int, str] = {}
    delivered: set[int] = set()

    def report(error, message) -> None:
        if error:
            errors[message.partition()] = error.str()
        else:
            delivered.add(message.partition())

    producer = Producer({**_client_config(bootstrap), "acks": "all",
                         "message.timeout.ms": int(ROUND_TRIP_SECONDS * 1000 * 0.6)})
    for partition, broker in enumerate(brokers):
        producer.produce(topic, key=broker.service.encode(), value=token, partition=partition, on_delivery=report)
    producer.flush(ROUND_TRIP_SECONDS * 0.7)
    for partition in range(len(brokers)):
        if partition not in delivered:
            errors.setdefault(partition, "not delivered in time")
    return errors


def _consume(bootstrap: str, topic: str, brokers: list[Broker], token: bytes) -> set[int]:
    """The partitions whose message came back."""
    consumer = Consumer({**_client_config(bootstrap), "group.id": topic, "enable.auto.commit": False,
                         "fetch.wait.max.ms": 100})
    seen: set[int] = set()
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(len(brokers))])
        deadline = time.monotonic() + ROUND_TRIP_SECONDS * 0.6
        while len(seen) < len(brokers) and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and not message.error() and message.value() == token:
                seen.add(message.partition())
    finally:
        consumer.close()
    return seen


def _round_trip(admin: AdminClient, bootstrap: str, brokers: list[Broker]) -> dict[str, Optional[Failed]]:
    """A message through each broker's partition of a topic made for the check, then removed."""
    topic, token = f"{PREFIX}{uuid.uuid4().hex[:8]}", uuid.uuid4().bytes
    made = admin.create_topics([NewTopic(topic, num_partitions=len(brokers),
                                         replica_assignment=[[b.id] for b in brokers])],
                               operation_timeout=READ_TIMEOUT, request_timeout=READ_TIMEOUT + 1)[topic]
    try:
        made.result(READ_TIMEOUT + 2)
    except KafkaException as error:
        failure = Failed(f"creating topic {topic} failed: {error.args[0].str()}")
        return {b.service: failure for b in brokers}
    try:
        undelivered = _produce(bootstrap, topic, brokers, token)
        back = _consume(bootstrap, topic, brokers, token)
    finally:
        left = _delete(admin, topic)
    answers: dict[str, Optional[Failed]] = {}
    for partition, broker in enumerate(brokers):
        if partition in undelivered:
            answers[broker.service] = Failed(f"a message to {topic}'s partition {partition}, led by "
                                             f"{broker.service}, was not delivered: {undelivered[partition]}")
        elif partition not in back:
            answers[broker.service] = Failed(f"the message in {topic}'s partition {partition}, led by "
                                             f"{broker.service}, did not come back within {ROUND_TRIP_SECONDS:.0f}s")
        else:
            answers[broker.service] = left
    return answers


def _delete(admin: AdminClient, topic: str) -> Optional[Failed]:
    """Delete the topic, and wait until the brokers' metadata no longer lists it."""
    way_out = f"delete it in Kpow, or with kafka-topics --delete --topic {topic}"
    try:
        admin.delete_topics([topic], operation_timeout=READ_TIMEOUT)[topic].result(READ_TIMEOUT + 2)
        deadline = time.monotonic() + READ_TIMEOUT
        while topic in admin.list_topics(timeout=READ_TIMEOUT).topics:
            if time.monotonic() > deadline:
                return Failed(f"topic {topic} is still listed {READ_TIMEOUT:.0f}s after it was deleted", way_out)
            time.sleep(0.1)
        return None
    except KafkaException as error:
        return Failed(f"topic {topic} could not be deleted ({error.args[0].str()}): it is left behind", way_out)


def cluster(outputs: Mapping) -> dict[str, object]:
    """Every broker's answer, by service: what it found (str) or why it failed (Failed)."""
    bootstrap, brokers = outputs["kafkaBootstrapServers"], _brokers(outputs)
    refused = {address: reachable(address) for address in bootstrap.split(",")}
    if all(refused.values()):  # no use waiting for a metadata answer
        failure = Unreachable("nothing answers at the bootstrap servers ("
                              + "; ".join(f"{a}: {why}" for a, why in refused.items()) + ")")
        return {b.service: failure for b in brokers}
    admin = AdminClient(_client_config(bootstrap))
    try:
        metadata = admin.list_topics(timeout=METADATA_SECONDS)
    except KafkaException:
        failure = Unreachable(f"no broker answers a metadata request at {bootstrap} within {METADATA_SECONDS:.0f}s")
        return {b.service: failure for b in brokers}
    answers: dict[str, object] = {}
    for broker in brokers:
        problem = _listed(broker, metadata)
        if problem:
            answers[broker.service] = problem
    good = [b for b in brokers if b.service not in answers]
    if good:
        trips = _round_trip(admin, bootstrap, good)
        for broker in good:
            answers[broker.service] = trips[broker.service] or (
                f"listed at {broker.advertised}; a message through it (broker {broker.id}) came back")
    return answers


@question("kafka", asks="the metadata from {kafkaBootstrapServers} lists {name} at {address}; a message made for "
                        "the check is produced and consumed back through it")
def kafka(t: Target) -> str:
    for key in ("kafkaBootstrapServers", "kafkaBrokerIds"):
        t.output(key)
    if t.name not in t.outputs["kafkaBrokerIds"]:
        raise Failed(f"the stack's outputs give no broker id of {t.name}", f"`make up STACK={t.stack}` records it")
    answer = t.shared.get("kafka", lambda: cluster(t.outputs))[t.name]
    if isinstance(answer, Failed):  # a copy: every broker's row runs in a thread of its own
        raise copy.copy(answer)
    return answer


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
        raise Failed(f"registering a schema under {subject} answered {registered.status_code} {gist(registered)}")
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
            raise Failed(f"deleting {subject}{query} answered {gone.status_code} {gist(gone)}: the subject "
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


@question("zookeeper", asks="a ZooKeeper session at {address} lists the root znodes")
def zookeeper(t: Target) -> str:
    why = reachable(t.address)
    if why:
        raise nothing_answers(t.address, why)
    client = KazooClient(hosts=t.address, timeout=READ_TIMEOUT, logger=QUIET)
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
