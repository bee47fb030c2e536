"""The configuration the program gets is the CLI's: Pulumi.yaml's defaults for every key,
set or not, then the stack file, then what the stack sets (docs/engine.md,
"Configuration"). The program must behave the same whether a key is absent or present at
its declared default, on both engines."""

import json

import pulumi
import pytest
import yaml

import harness
from harness import PROJECT, PROJECT_DIR, run_program
from plan import plan
import settings
from settings import ENGINE_KEYS, SettingsError

DECLARED = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]
# what a cluster requires of a new stack: the engine, and passwords of its own
KUBERNETES = {"engine": "kubernetes", "minioPassword": "minio-on-k8s", "postgresPassword": "pg-on-k8s"}
SECRETS = ("minioPassword", "postgresPassword")


def refused(config: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        run_program(config)
    assert caught.value.registrations == []
    return str(caught.value).splitlines()


def test_the_harness_passes_every_declared_default_as_a_string():
    config, secret = harness.as_the_cli_passes({}, (), "a-new-stack")
    assert secret == []
    assert set(config) == {f"{PROJECT}:{key}" for key in DECLARED}
    assert config[f"{PROJECT}:engine"] == "docker"
    assert config[f"{PROJECT}:stacks"] == '["kpow","flex","analytics","pinot"]'  # as Go marshals it
    assert config[f"{PROJECT}:portOffset"] == "0"
    assert config[f"{PROJECT}:pyflink"] == "true"
    assert config[f"{PROJECT}:namePrefix"] == ""  # an empty default is passed, not left out
    assert config[f"{PROJECT}:images"] == "{}"  # a `value:` entry too


def test_the_stack_file_wins_over_the_defaults_and_the_stack_over_both(tmp_path):
    (tmp_path / "Pulumi.alice.yaml").write_text(yaml.safe_dump({"config": {
        f"{PROJECT}:profile": "lite",
        f"{PROJECT}:stacks": ["kpow"],
        f"{PROJECT}:portOffset": 100,
        f"{PROJECT}:minioPassword": {"secure": "v1:abc"},
        "docker:host": "ssh://alice@box",
    }}))
    config = settings.cli_config(tmp_path, "alice")
    assert config[f"{PROJECT}:profile"] == "lite"
    assert config[f"{PROJECT}:stacks"] == '["kpow"]'
    assert config[f"{PROJECT}:portOffset"] == "100"
    assert config[f"{PROJECT}:edition"] == "trial"  # not in the stack file: the default
    assert config[f"{PROJECT}:minioPassword"] == "password"  # the secure value is the CLI's to decrypt
    assert config["docker:host"] == "ssh://alice@box"
    assert settings.cli_config(tmp_path, "bob") == settings.project_defaults()


def test_a_test_can_give_its_stack_a_stack_file(tmp_path):
    (tmp_path / "Pulumi.alice.yaml").write_text(f"config:\n  {PROJECT}:namePrefix: alice-\n")
    run = run_program({"portOffset": "100"}, stack="alice", stack_dir=tmp_path)
    assert run.container("kafka-1")["name"] == "alice-kafka-1"
    assert run.ports("kafka-1") == [("127.0.0.1", 9192, 9192)]


# What the CLI hands the program, recorded from its sources (tests/facts/cli-config.json;
# docs/engine.md, "Configuration"): the harness is held to these facts, not to itself.
CLI_FACTS = json.loads((PROJECT_DIR / "tests" / "facts" / "cli-config.json").read_text())


def as_the_cli_encodes(value) -> str:
    """A declared value as the recorded facts say the CLI passes it (written from them,
    apart from the project's own settings.as_passed)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return value


@pytest.mark.parametrize("example", CLI_FACTS["encoding"], ids=lambda e: e["why"])
def test_the_recorded_encoding_is_the_tests_and_the_programs(example):
    assert as_the_cli_encodes(example["declared"]) == example["passed"]
    assert settings.project_defaults({"key": {"default": example["declared"]}}) == {f"{PROJECT}:key": example["passed"]}


def test_every_test_runs_the_program_on_the_configuration_the_cli_gives():
    """The configuration a test's program sees is the CLI's by the recorded rule: every
    key Pulumi.yaml gives a default or a value, encoded as the CLI encodes it, then what
    the test sets; the organization that of a self-managed backend."""
    run_program({"profile": "lite", "portOffset": "100"}, stack="alice")
    seen = pulumi.runtime.config.CONFIG.get()
    by_the_rule = {f"{PROJECT}:{key}": as_the_cli_encodes(spec["default"] if "default" in spec else spec["value"])
                   for key, spec in DECLARED.items() if "default" in spec or "value" in spec}
    assert set(by_the_rule) == {f"{PROJECT}:{key}" for key in DECLARED}  # every key has one
    assert seen == {**by_the_rule, f"{PROJECT}:profile": "lite", f"{PROJECT}:portOffset": "100"}
    assert pulumi.get_organization() == CLI_FACTS["organization"]


@pytest.mark.parametrize("preview", [True, False])
def test_a_brand_new_stack_with_nothing_set_plans_on_docker(preview):
    run = run_program(preview=preview, stack="brand-new")
    assert run.errors == []
    assert run.container("kafka-1")["name"] == "kafka-1"
    assert run.outputs["stacks"] == ["kpow", "flex", "analytics", "pinot"]


@pytest.mark.parametrize("preview", [True, False])
def test_a_brand_new_stack_plans_on_kubernetes_with_only_what_a_cluster_requires(preview):
    run = run_program(KUBERNETES, secret_keys=SECRETS, preview=preview, stack="brand-new")
    assert run.errors == []
    assert run.outputs["namespace"] == "factorhouse-brand-new"
    assert {r.name for r in run.of_type("kubernetes:apps/v1:Deployment")} >= {"kafka-1", "jobmanager", "minio"}


def test_a_cluster_without_passwords_of_its_own_is_refused_in_one_line_each():
    assert refused({"engine": "kubernetes"}) == [
        f"invalid config {key}: the default password is not allowed with engine kubernetes (a cluster is shared, "
        f"and not every network plugin enforces the namespace's network policy); set your own with "
        f"`pulumi config set --secret {key} ...`" for key in SECRETS]


def at_defaults(keys) -> dict[str, str]:
    return {key: settings.as_passed(DECLARED[key]["default"]) for key in keys}


@pytest.mark.parametrize("engine, base", [("docker", {}), ("kubernetes", KUBERNETES)])
def test_the_other_engines_settings_at_their_defaults_are_accepted_even_when_set(engine, base):
    other = [key for kind, keys in ENGINE_KEYS.items() if kind != engine for key in keys]
    assert other
    # as `pulumi config set imageRegistry ""` writes them into the stack file
    run = run_program({**base, **at_defaults(other)}, secret_keys=SECRETS if base else ())
    assert run.errors == []


OTHER_VALUES = {"bindAddress": "0.0.0.0", "dockerHost": "ssh://me@box", "kubeContext": "kind-kind",
                "namespace": "team-a", "createNamespace": "false", "storageClass": "fast",
                "imageRegistry": "reg:5000", "imagePlatform": "linux/amd64"}


@pytest.mark.parametrize("key", sorted(OTHER_VALUES))
def test_a_setting_of_the_other_engine_that_is_not_at_its_default_is_refused_naming_it_and_its_value(key):
    engine = "docker" if key in ENGINE_KEYS["kubernetes"] else "kubernetes"
    base = {} if engine == "docker" else KUBERNETES
    owner = "kubernetes" if engine == "docker" else "docker"
    shown = OTHER_VALUES[key] if key == "createNamespace" else repr(OTHER_VALUES[key])
    assert refused({**base, key: OTHER_VALUES[key]}) == [
        f"invalid config {key}: {shown} has no meaning with engine {engine} (it is a setting of engine {owner}); "
        f"remove it with `pulumi config rm {key}`"]


def test_every_engine_setting_is_covered():
    assert sorted(OTHER_VALUES) == sorted(k for keys in ENGINE_KEYS.values() for k in keys)


@pytest.mark.parametrize("config", [{}, {"profile": "lite", "stacks": json.dumps(["kpow", "pinot"])}])
def test_the_plan_is_the_same_whether_the_defaults_are_passed_or_not(config, monkeypatch):
    as_cli = plan(run_program(config))
    # as the mocks alone would run it: only the keys the stack sets
    monkeypatch.setattr(harness, "as_the_cli_passes",
                        lambda config, secret, stack, stack_dir: ({f"{PROJECT}:{k}": v for k, v in config.items()}, []))
    assert plan(run_program(config)) == as_cli


@pytest.mark.parametrize("key, words", [
    ("docker:host", ["use dockerHost instead", "pulumi config rm docker:host"]),
    ("kubernetes:context", ["use kubeContext instead"]),
    ("kubernetes:kubeconfig", ["is not read", "pulumi config rm kubernetes:kubeconfig"]),
])
def test_a_key_of_a_providers_namespace_is_refused_not_ignored(key, words, monkeypatch):
    # the CLI passes keys of every namespace; the program's providers never read them
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({key: "x"}))
    [line] = refused({})
    assert line.startswith(f"invalid config {key}: is not read (the program configures its ")
    for word in words:
        assert word in line


def test_keys_of_other_namespaces_pass(monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"pulumi:tags": '{"pulumi:template":"python"}'}))
    assert run_program().errors == []
