"""What the real engine and provider do that mocks cannot show (docs/engine.md), checked
on what the program asks for: resource identity across choices of stacks, inputs written
the way the provider reads them back, delete-before-replace of fixed names, one Docker
provider for a local or remote engine, nothing bind-mounted from this machine."""

import itertools
import json
import re

import pytest

from harness import COMMAND, CONTAINER, IMAGE, NETWORK, VOLUME, run_program
from engines.docker import READ_BACK_GW_PRIORITY, READ_BACK_MAPS, go_duration

STACKS = ["kpow", "flex", "analytics", "pinot"]
SELECTIONS = [c for n in range(1, 5) for c in itertools.combinations(STACKS, n)]
DOCKER = (CONTAINER, IMAGE, NETWORK, VOLUME)


@pytest.fixture(scope="module")
def runs():
    return {chosen: run_program({"stacks": json.dumps(list(chosen))}) for chosen in SELECTIONS}


def identities(run) -> dict[tuple[str, str], str]:
    """(type, Docker object name or Pulumi name) -> URN of everything the program makes."""
    out = {}
    for r in run.registrations:
        key = (r.type, r.get("name") if r.type in DOCKER else r.name)
        out[key] = r.urn
    return out


def test_what_two_choices_of_stacks_share_keeps_its_urn(runs):
    # moving between them must never make a second object of a fixed name first
    checked = set()
    for a, b in itertools.combinations(SELECTIONS, 2):
        ids_a, ids_b = identities(runs[a]), identities(runs[b])
        for key in ids_a.keys() & ids_b.keys():
            assert ids_a[key] == ids_b[key], (a, b, key)
            checked.add(key[1])
    assert {"zookeeper", "zookeeper-data", "factorhouse", "jobmanager", "minio"} <= checked


def test_zookeeper_belongs_to_neither_stack(runs):
    for chosen in (("pinot",), ("kpow",), ("kpow", "pinot")):
        zookeeper = runs[chosen].container("zookeeper")
        assert zookeeper.parent.endswith("pulumi:pulumi:Stack::factorhouse-local-dev"), chosen


@pytest.mark.parametrize("seconds, expected", [(0, "0s"), (30, "30s"), (60, "1m0s"), (90, "1m30s"),
                                               (3600, "1h0m0s"), (3725, "1h2m5s")])
def test_durations_are_written_as_go_reads_them_back(seconds, expected):
    assert go_duration(seconds) == expected


def seconds_of(duration: str) -> int:
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(\d+)s", duration)
    assert match, duration
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def test_every_health_check_duration_is_in_go_form(runs):
    checked = 0
    for name, container in runs[tuple(STACKS)].containers.items():
        for key in ("interval", "timeout", "startPeriod"):
            if container.get("healthcheck"):
                value = container["healthcheck"][key]
                assert go_duration(seconds_of(value)) == value, (name, key)
                checked += 1
    assert checked >= 3 * 6


def test_no_memory_limit_leaves_the_swap_to_drift(runs):
    limited = 0
    for name, container in runs[tuple(STACKS)].containers.items():
        if container.get("memory"):
            limited += 1
            # Docker records twice the memory as swap (compose's mem_limit alone does the
            # same); written so, and ignored where a host reads back -1 (no swap accounting)
            assert container["memorySwap"] == 2 * container["memory"], name
            assert "memorySwap" in container.ignore_changes, name
        else:
            assert "memorySwap" not in container.inputs, name
    assert limited == 2  # Kpow and Flex


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def map_typed_container_inputs() -> set[str]:
    """Every map-typed input of the Docker provider's container, as the installed SDK
    declares it: the provider's read writes each of them back, as `{}` when Docker has
    none (docs/engine.md, "What a refresh reads back")."""
    import inspect

    import pulumi_docker
    parameters = inspect.signature(pulumi_docker.ContainerArgs.__init__).parameters
    return {name for name, p in parameters.items() if "Mapping[" in str(p.annotation)}


def test_the_program_sets_every_field_a_refresh_reads_back(runs):
    # unset, a refresh of an unchanged stack shows each as a change: `+ tmpfs: {}`,
    # `+ sysctls: {}`, `+ gwPriority: 0`
    assert set(READ_BACK_MAPS) == map_typed_container_inputs() == {"log_opts", "storage_opts", "sysctls", "tmpfs"}
    for chosen in (tuple(STACKS), ("flex",)):
        for name, container in runs[chosen].containers.items():
            for field in READ_BACK_MAPS:
                assert container.get(_camel(field)) == {}, (name, field)
            for network in container["networksAdvanced"]:
                assert network.get("gwPriority") == READ_BACK_GW_PRIORITY == 0, name


def test_fixed_names_are_replaced_delete_first(runs):
    run = runs[tuple(STACKS)]
    assert run.one(NETWORK, "network").delete_before_replace
    assert all(c.delete_before_replace for c in run.containers.values())
    # a data volume is never deleted by Pulumi: a replaced one keeps its Docker volume
    assert all(v.retain_on_delete for v in run.of_type(VOLUME))


def test_data_volumes_carry_their_stack_and_are_never_replaced_for_their_labels():
    run = run_program({"namePrefix": "alice-"}, stack="alice")
    volumes = run.of_type(VOLUME)
    assert volumes
    for volume in volumes:
        assert volume["name"].startswith("alice-")
        assert volume["labels"] == [{"label": "dev.factorhouse.local", "value": "data"},
                                    {"label": "dev.factorhouse.local.stack", "value": "factorhouse-local/alice"}]
        # labels replace a volume and Docker keeps an existing volume's own: a volume made
        # before it carried its stack would be "replaced" on every `up` without this
        assert volume.ignore_changes == ["labels"] and volume.retain_on_delete
    # the containers carry the same stack label (recover.py and drop_data.py match on it)
    labels = {(l["label"], l["value"]) for l in run.container("kafka-1")["labels"]}
    assert ("dev.factorhouse.local.stack", "factorhouse-local/alice") in labels


def test_every_docker_resource_uses_one_explicit_provider_for_the_default_engine(runs):
    run = runs[tuple(STACKS)]
    [provider] = run.of_type("pulumi:providers:docker")
    assert provider.get("host") is None  # DOCKER_HOST, or the local engine
    docker_resources = [r for r in run.registrations if r.type in DOCKER]
    assert docker_resources and all(run.provider_of(r) is provider for r in docker_resources)


def test_a_remote_engine_gets_everything_and_nothing_is_mounted_from_this_machine():
    run = run_program({"dockerHost": "ssh://dev@bigbox"})
    [provider] = run.of_type("pulumi:providers:docker")
    assert provider["host"] == "ssh://dev@bigbox"
    for resource in run.registrations:
        if resource.type in DOCKER:
            assert run.provider_of(resource) is provider, resource.name
    for name, container in run.containers.items():
        for volume in container.get("volumes", []):
            assert "hostPath" not in volume and volume["volumeName"], name
        assert not container.get("mounts"), name
    # the steps that talk to Docker go to the same engine; downloads stay on this machine
    docker_steps = [c for c in run.of_type(COMMAND) if not c.name.startswith("download-")]
    assert {c.name for c in docker_steps} >= {"build-flink", "build-flink-connectors", "build-kafka-connectors",
                                             "connect-healthy", "jobmanager-healthy", "minio-healthy"}
    for step in docker_steps:
        assert step["environment"] == {"DOCKER_HOST": "ssh://dev@bigbox"}, step.name
    for step in run.of_type(COMMAND):
        if step.name.startswith("download-"):
            assert "environment" not in step.inputs


def test_a_default_preview_asks_no_registry(runs):
    for run in runs.values():
        assert run.calls == []
        assert all(i.get("pullTriggers") is None for i in run.of_type(IMAGE))


def test_images_are_pulled_once_and_kept(runs):
    images = runs[tuple(STACKS)].of_type(IMAGE)
    names = [i["name"] for i in images]
    assert len(names) == len(set(names))
    assert all(i["keepLocally"] for i in images)
