"""The Kafka brokers' question (docs/check.md): one round trip for the whole cluster, whose
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
import time
import uuid
from dataclasses import dataclass
from typing import Mapping, Optional

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from scripts.questions import (PREFIX, READ_TIMEOUT, _QUIET, Failed, Target, Unreachable, question,
                               reachable)

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
            "logger": _QUIET, "error_cb": lambda error: None}


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
