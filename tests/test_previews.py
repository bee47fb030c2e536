"""Previews as the real providers make them (docs/engine.md, "Previews").

`make up` runs `pulumi up`, which previews before it updates: a program that cannot preview
a brand-new stack cannot be brought up. In a preview, a resource about to be made has none
of what its server fills in (a Kubernetes object has no uid, a command no stdout, a
container no id), and one the state holds unchanged has what the state holds. The harness
(tests/harness.py) gives the program exactly that; the first tests here hold the harness to
what the real providers gave this program (tests/facts/provider-outputs.json), the others
run the program on it."""

import json
from pathlib import Path

import pytest

from harness import is_unknown, run_program
from test_kubernetes import K8S

FACTS = json.loads((Path(__file__).parent / "facts" / "provider-outputs.json").read_text())
EVERY_STACK = ["kpow", "flex", "analytics", "pinot", "telemetry", "lineage", "redis", "clickhouse", "starrocks",
               "metadata"]
ENGINES = {"docker": {}, "kubernetes": K8S}
# passwords of their own, so that any engine and exposure takes them
OWN = {"grafanaPassword": "grafana-own", "marquezPassword": "marquez-own", "redisPassword": "redis-own"}


def config(engine: str, catalog: str = "hive") -> dict[str, str]:
    """Every stack, on `engine`, with `catalog`: the recording's selection (profile lite)."""
    return {**OWN, **ENGINES[engine], "stacks": json.dumps(EVERY_STACK), "catalog": catalog, "profile": "lite"}


def shape(outputs: dict) -> tuple[set[str], set[str]]:
    """(unknown keys, known keys) of what a provider gave back."""
    unknown = {k for k, v in outputs.items() if is_unknown(v)}
    return unknown, set(outputs) - unknown


def given(run, kind: str, name: str) -> dict:
    resource_id, outputs = run.returned[(kind, name)]
    return outputs


def example(run, kind: str, name: str) -> dict:
    """What the provider gave the recording's example, or the first of its type (the
    recording ran stand-in images under names of their own)."""
    if (kind, name) in run.returned:
        return given(run, kind, name)
    return next(outputs for (k, _), (_, outputs) in run.returned.items() if k == kind)


# -- the harness against the real providers -----------------------------------------------------

@pytest.fixture(scope="module", params=list(ENGINES))
def lifecycle(request):
    """A new stack's preview, the up that made it, and the next preview, on one engine."""
    engine = request.param
    first = run_program(config(engine), preview=True)
    up = run_program(config(engine))
    again = run_program(config(engine), preview=True, state=up.state)
    return engine, {"preview_of_create": first, "up_of_create": up, "preview_of_unchanged": again}


def test_the_harness_gives_each_resource_type_what_its_real_provider_gave(lifecycle):
    engine, runs = lifecycle
    assert set(FACTS[engine]) <= set(runs)
    for operation, types in FACTS[engine].items():
        run = runs[operation]
        for kind, fact in types.items():
            outputs = example(run, kind, fact["example"])
            unknown, known = shape(outputs)
            assert unknown == set(fact["unknown"]), (operation, kind)
            # nothing is known that the provider left unknown or absent
            assert known <= set(fact["known"]), (operation, kind, known - set(fact["known"]))
            if "metadata" in fact:  # a Kubernetes object: exactly the server's fields, or none
                assert set(outputs["metadata"]) == set(fact["metadata"]), (operation, kind)


def test_in_a_preview_a_kubernetes_object_to_be_made_has_no_uid_and_after_the_up_it_has():
    preview = run_program(config("kubernetes"), preview=True)
    up = run_program(config("kubernetes"))
    again = run_program(config("kubernetes"), preview=True, state=up.state)
    metadata = {run: given(run, "kubernetes:apps/v1:Deployment", "minio")["metadata"] for run in (preview, up, again)}
    assert not {"uid", "generation", "resourceVersion"} & set(metadata[preview])
    assert metadata[up]["uid"] and metadata[again]["uid"] == metadata[up]["uid"]


# -- the program on them ------------------------------------------------------------------------

@pytest.mark.parametrize("catalog", ["rest", "hive"])
@pytest.mark.parametrize("engine", list(ENGINES))
def test_a_brand_new_stack_previews_with_every_stack_and_either_catalog(engine, catalog):
    run = run_program(config(engine, catalog), preview=True, stack="brand-new")
    assert run.errors == []
    assert len(run.registrations) > 50


@pytest.mark.parametrize("catalog", ["rest", "hive"])
@pytest.mark.parametrize("engine", list(ENGINES))
def test_a_preview_after_an_up_shows_no_change(engine, catalog):
    up = run_program(config(engine, catalog))
    preview = run_program(config(engine, catalog), preview=True, state=up.state)
    again = run_program(config(engine, catalog), state=up.state)
    made = {(r.type, r.name): r.raw for r in up.registrations}
    for run in (preview, again):
        assert run.errors == []
        changed = [key for key in made if {(r.type, r.name): r.raw for r in run.registrations}[key] != made[key]]
        assert changed == []


def identity(run, name: str) -> str:
    """What the bucket set-up (the `mc` Job) is made anew by: MinIO's identity."""
    job = given(run, "kubernetes:batch/v1:Job", "mc")
    return job["spec"]["template"]["metadata"]["annotations"]["factorhouse.local/replace-when"]


def test_a_preview_says_a_new_minio_makes_the_bucket_set_up_anew_and_the_up_does():
    settings = {**K8S, "stacks": json.dumps(["analytics"])}
    up = run_program(settings)
    made = identity(up, "mc")
    assert made and "/" in made
    other = {**settings, "images": json.dumps({"minio": "quay.io/minio/minio:another"})}
    # the new pod template is known in the preview: the set-up shows as changing
    preview = run_program(other, preview=True, state=up.state)
    assert identity(preview, "mc") != made and not is_unknown(identity(preview, "mc"))
    changed = run_program(other, state=up.state)
    assert identity(changed, "mc") == identity(preview, "mc") != made
    # the uid stays: the Deployment is updated in place, not made anew
    assert identity(changed, "mc").split("/")[0] == made.split("/")[0]


def test_a_preview_of_a_new_stack_leaves_what_waits_for_a_new_workload_to_be_decided():
    preview = run_program({**K8S, "stacks": json.dumps(["analytics"])}, preview=True)
    assert is_unknown(identity(preview, "mc"))
