"""Settings: Pulumi.yaml defaults, validation before any resource, secrets."""

import json

import pulumi
import pytest
import yaml

from harness import PROJECT_DIR, run_program
import settings as settings_module
from settings import SettingsError

DECLARED = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]


def failure(config: dict[str, str]) -> tuple[str, list]:
    with pytest.raises(SettingsError) as caught:
        run_program(config)
    return str(caught.value), caught.value.registrations


def test_every_key_is_declared_with_a_description_and_default():
    for key, spec in DECLARED.items():
        if "value" in spec:  # structured: a YAML comment describes it
            continue
        assert spec.get("description"), key
        assert "default" in spec and "type" in spec, key


def test_defaults_come_from_pulumi_yaml():
    run = run_program()
    assert run.outputs["stacks"] == DECLARED["stacks"]["default"] == ["kpow", "flex", "analytics", "pinot"]
    kafka1 = run.container("kafka-1")
    # bindAddress 127.0.0.1, portOffset 0, namePrefix "" (upstream names)
    assert run.ports("kafka-1") == [("127.0.0.1", 9092, 9092)]
    assert kafka1["name"] == "kafka-1"
    assert run.container("kpow")["name"] == "kpow-ee"  # edition trial
    assert run.one("docker:index/network:Network", "network")["name"] == "factorhouse"


def test_a_changed_default_in_pulumi_yaml_changes_the_settings(monkeypatch):
    declared = settings_module.config.declarations()
    declared["bindAddress"] = {**declared["bindAddress"], "default": "127.0.0.2"}
    monkeypatch.setattr(settings_module.config, "declarations", lambda: declared)
    assert run_program().ports("zookeeper") == [("127.0.0.2", 2181, 2181)]


@pytest.mark.parametrize("config, key, words", [
    ({"stacks": "[]"}, "stacks", ["kpow, flex, analytics, pinot"]),
    ({"stacks": '["kpow", "kafka"]'}, "stacks", ["'kafka'", "kpow, flex, analytics, pinot"]),
    ({"stacks": "kpow"}, "stacks", ["'kpow'", "not a list", "pulumi config set --path 'stacks[0]' kpow"]),
    ({"stacks": '"kpow"'}, "stacks", ["not a list", "--path 'stacks[0]'"]),
    ({"edition": "enterprise"}, "edition", ["'enterprise'", "trial, community"]),
    ({"profile": "tiny"}, "profile", ["'tiny'", "full, lite"]),
    ({"kpowLicenseFile": "/nonexistent/licence.env"}, "kpowLicenseFile", ["/nonexistent/licence.env"]),
    ({"flexLicenseFile": "README.md"}, "flexLicenseFile", ["README.md"]),
    ({"kpowLicenseFile": "Makefile"}, "kpowLicenseFile", ["Makefile", "KEY=VALUE"]),
    ({"kpowLicenseFile": "requirements.txt"}, "kpowLicenseFile", ["requirements.txt", "lacks LICENSE_ID"]),
    ({"bindAddress": "localhost"}, "bindAddress", ["'localhost'", "127.0.0.1"]),
    ({"hostAddress": "not a host"}, "hostAddress", ["'not a host'"]),
    ({"portOffset": "ten"}, "portOffset", ["'ten'", "whole number"]),
    ({"portOffset": "36536"}, "portOffset", ["36536", "-2180..36535"]),
    ({"portOffset": "-2181"}, "portOffset", ["-2181", "-2180..36535"]),
    ({"namePrefix": "Alice_"}, "namePrefix", ["'Alice_'", "lowercase letters, digits and '-'"]),
    ({"namePrefix": "-x"}, "namePrefix", ["'-x'"]),
    ({"persistData": "yes"}, "persistData", ["'yes'", "true or false"]),
    ({"images": '{"kafkaa": "x/y:1"}'}, "images", ["'kafkaa'", "zookeeper"]),
    ({"images": '{"kafka": "has space"}'}, "images.kafka", ["'has space'"]),
    ({"images": '["x"]'}, "images", ["map", "--path 'images.KEY'"]),
    ({"dockerHost": "bigbox:2375"}, "dockerHost", ["'bigbox:2375'", "unix:///PATH, tcp://HOST:PORT or ssh://USER@HOST"]),
    ({"dockerHost": "http://bigbox"}, "dockerHost", ["'http://bigbox'"]),
    ({"followLatest": "always"}, "followLatest", ["'always'", "true or false"]),
    ({"minioPassword": "short"}, "minioPassword", ["8 characters"]),
    ({"postgresPassword": ""}, "postgresPassword", ["empty"]),
    ({"redisPassword": ""}, "redisPassword", ["empty"]),
    ({"grafanaPassword": ""}, "grafanaPassword", ["empty"]),
    ({"marquezPassword": ""}, "marquezPassword", ["empty"]),
    ({"downloadMirror": "ftp://mirror"}, "downloadMirror", ["'ftp://mirror'", "https://"]),
    ({"profle": "lite"}, "profle", ["not a setting", "profile"]),
])
def test_a_bad_value_stops_before_any_resource_with_one_clear_line(config, key, words):
    message, made = failure(config)
    assert made == [], "no resource may be made with a bad config"
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(f"invalid config {key}: ")
    for word in words:
        assert word in message


def test_every_bad_value_is_reported_at_once():
    message, made = failure({"edition": "x", "profile": "y"})
    assert made == []
    assert message.splitlines() == [
        "invalid config edition: 'x' is not allowed; use one of trial, community",
        "invalid config profile: 'y' is not allowed; use one of full, lite",
    ]


def test_settings_error_is_reported_without_a_traceback_by_the_language_host():
    # The Python language host prints a RunError's message alone, not its stack trace.
    assert issubclass(SettingsError, pulumi.RunError)


EVERY_STACK = json.dumps(list(settings_module.STACKS))


def test_the_published_port_range_bounds_every_published_port():
    # every stack, not only the default ones: each publishes ports of its own
    low, high = settings_module.PUBLISHED_PORTS
    run = run_program({"sparkThriftPorts": "true", "stacks": EVERY_STACK})
    ports = [host for name in run.containers for _, host, _ in run.ports(name)]
    assert min(ports) == low and max(ports) == high


@pytest.mark.parametrize("offset", ["-2180", "36535"])
def test_the_extreme_offsets_are_accepted(offset):
    run = run_program({"portOffset": offset, "stacks": EVERY_STACK})
    ports = [host for name in run.containers for _, host, _ in run.ports(name)]
    assert 1 <= min(ports) and max(ports) <= 65535


def test_stacks_keep_a_fixed_order_whatever_the_user_wrote():
    assert run_program({"stacks": json.dumps(["pinot", "kpow"])}).outputs["stacks"] == ["kpow", "pinot"]


def test_licence_paths_are_relative_to_the_project(tmp_path):
    licence = tmp_path / "kpow.env"
    licence.write_text("\n".join(f"{k}=v-{k}" for k in settings_module.LICENSE_KEYS) + "\n")
    env = run_program({"kpowLicenseFile": str(licence), "stacks": '["kpow"]'}).env("kpow")
    assert env["LICENSE_CODE"] == "v-LICENSE_CODE"


@pytest.mark.parametrize("host", ["unix:///var/run/docker.sock", "tcp://10.0.0.5:2376", "ssh://dev@bigbox",
                                  "ssh://dev@bigbox:2222"])
def test_docker_hosts_that_are_accepted(host):
    [provider] = run_program({"stacks": '["pinot"]', "dockerHost": host}).of_type("pulumi:providers:docker")
    assert provider["host"] == host


@pytest.mark.parametrize("bind", ["0.0.0.0", "192.168.1.20", "::"])
def test_an_exposed_bind_address_with_default_passwords_is_refused_one_line_per_key(bind):
    message, made = failure({"bindAddress": bind})
    assert made == []
    assert message.splitlines() == [
        f"invalid config {key}: the default password is not allowed when bindAddress {bind} publishes ports "
        f"to other machines; set your own with `pulumi config set --secret {key} ...`"
        for key in ("minioPassword", "postgresPassword")]


def test_an_exposed_bind_address_with_own_passwords_or_without_analytics_is_fine():
    run = run_program({"bindAddress": "0.0.0.0", "minioPassword": "a-long-secret", "postgresPassword": "another"},
                      secret_keys=("minioPassword", "postgresPassword"))
    assert run.ports("minio")[0][0] == "0.0.0.0"
    assert run_program({"bindAddress": "0.0.0.0", "stacks": '["kpow"]'}).ports("kpow")[0][0] == "0.0.0.0"
    # loopback addresses other than 127.0.0.1 are not exposed
    assert run_program({"bindAddress": "127.0.0.2", "stacks": '["analytics"]'}).ports("postgres")[0][0] == "127.0.0.2"


@pytest.mark.parametrize("key, stack", [("grafanaPassword", "telemetry"), ("marquezPassword", "lineage")])
@pytest.mark.parametrize("config, why", [
    ({"bindAddress": "0.0.0.0"}, "when bindAddress 0.0.0.0 publishes ports to other machines"),
    ({"engine": "kubernetes"}, "with engine kubernetes"),
])
def test_the_telemetry_and_lineage_passwords_are_refused_at_their_defaults_where_others_reach_them(
        key, stack, config, why):
    chosen = {"stacks": json.dumps([stack]), **config}
    message, made = failure(chosen)
    assert made == []
    [line] = message.splitlines()
    assert line.startswith(f"invalid config {key}: the default password is not allowed {why}")
    assert line.endswith(f"set your own with `pulumi config set --secret {key} ...`")
    # one's own is taken; without the stack, its password is never asked for
    assert run_program({**chosen, key: "mine-4711"}, secret_keys=(key,)).outputs["stacks"] == [stack]
    assert run_program({**config, "stacks": json.dumps(["pinot"])}).outputs["stacks"] == ["pinot"]
