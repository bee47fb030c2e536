"""The Pinot stack of docs/services.md, under mocks."""

import json

import pytest

from harness import run_program

PINOT = {"stacks": json.dumps(["pinot"])}


@pytest.fixture(scope="module")
def run():
    return run_program({"stacks": json.dumps(["kpow", "pinot"])})


@pytest.mark.parametrize("role, container, ports, heap, health", [
    ("controller", "pinot_controller", [("127.0.0.1", 19000, 9000)], ("512M", "1G"), "http://localhost:9000/health"),
    ("broker", "pinot_broker", [("127.0.0.1", 18099, 8099)], ("1G", "2G"), "http://localhost:8099/health"),
    ("server", "pinot_server", [("127.0.0.1", 18098, 8098)], ("2G", "3G"), "http://localhost:8097/health/readiness"),
])
def test_pinot_roles(run, role, container, ports, heap, health):
    name = f"pinot-{role}"
    c = run.container(name)
    assert run.image_of(name) == "apachepinot/pinot:1.2.0"
    assert c["name"] == container and run.ports(name) == ports
    assert c["command"] == [f"Start{role.capitalize()}", "-zkAddress", "zookeeper:2181"]
    assert run.env(name) == {"JAVA_OPTS": f"-Dplugins.dir=/opt/pinot/plugins -Xms{heap[0]} -Xmx{heap[1]} -XX:+UseG1GC "
                                          f"-XX:MaxGCPauseMillis=200 -Xloggc:gc-pinot-{role}.log"}
    assert c["healthcheck"] == {"tests": ["CMD", "curl", "-f", health], "interval": "30s", "timeout": "10s",
                                "retries": 5, "startPeriod": "10s"}
    # waited for as long as its own check allows: start period + (interval + timeout) x (retries + 1)
    assert int(run.option(run.gate(name), "--timeout")) >= 10 + 40 * 6
    assert c["restart"] == "unless-stopped"


def test_health_gated_order(run):
    assert "zookeeper" in run.depends_on(run.container("pinot-controller"))
    assert run.waits_until_healthy(run.container("pinot-broker"), "pinot-controller")
    assert run.waits_until_healthy(run.container("pinot-server"), "pinot-broker")


def test_pinot_uses_the_kafka_stacks_zookeeper(run):
    zookeepers = [r for r in run.of_type("docker:index/container:Container") if r.name == "zookeeper"]
    assert len(zookeepers) == 1


def test_pinot_alone_gets_a_zookeeper_of_its_own():
    run = run_program(PINOT)
    assert set(run.containers) == {"zookeeper", "pinot-controller", "pinot-broker", "pinot-server"}
    assert run.image_of("zookeeper") == "confluentinc/cp-zookeeper:7.8.0"
    assert run.env("zookeeper") == {"ZOOKEEPER_CLIENT_PORT": "2181", "ZOOKEEPER_TICK_TIME": "2000"}
    assert "zookeeper" in run.depends_on(run.container("pinot-controller"))


def test_lite_heaps_are_smaller():
    run = run_program({**PINOT, "profile": "lite"})
    assert "-Xms512M -Xmx1G" in run.env("pinot-server")["JAVA_OPTS"]
    assert "-Xms256M -Xmx512M" in run.env("pinot-broker")["JAVA_OPTS"]


def test_outputs(run):
    assert run.outputs["pinotControllerUrl"] == "http://127.0.0.1:19000"
    assert run.outputs["pinotBrokerUrl"] == "http://127.0.0.1:18099"
