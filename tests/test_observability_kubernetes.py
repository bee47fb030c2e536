"""The telemetry and lineage stacks on the Kubernetes engine, under mocks: each alone and
with every other stack runs what it runs on Docker (images, commands, settings, files,
ports, health checks, data, start order), keeps its credentials in Secrets, its data in
kept claims readable by the user its image runs as, and every manifest validates."""

import json

import pytest

from harness import run_program
from settings import STACKS
from test_kubernetes import CLAIM, K8S, SECRET, VERSIONS, Pods, assert_same_on_both, assert_valid, manifests
from test_kubernetes import PASSWORDS as K8S_PASSWORDS

PASSWORDS = {"grafanaPassword": "grafana-on-k8s", "marquezPassword": "marquez-on-k8s"}
# each alone and together (no setting of theirs follows the profile), and with every
# stack in both profiles (the Flink targets follow it)
CASES = [(("telemetry",), "full"), (("lineage",), "full"), (("telemetry", "lineage"), "full"),
         (tuple(STACKS), "full"), (tuple(STACKS), "lite")]


def config(stacks, **more) -> dict[str, str]:
    return {"stacks": json.dumps(stacks), **PASSWORDS, **more}


@pytest.fixture(scope="module")
def runs():
    # the same passwords on both engines (a cluster refuses the defaults)
    return {(chosen, profile): (run_program({**config(list(chosen), profile=profile), **K8S_PASSWORDS}),
                                run_program({**K8S, **config(list(chosen), profile=profile)}))
            for chosen, profile in CASES}


@pytest.mark.parametrize("case", CASES, ids=["+".join(c) + f"-{p}" for c, p in CASES])
def test_they_run_on_kubernetes_what_they_run_on_docker(runs, case):
    assert_same_on_both(*runs[case])


def test_their_credentials_are_in_secrets_and_their_data_in_kept_claims(runs):
    run = runs[(("telemetry", "lineage"), "full")][1]
    pods = Pods(run)
    from_secrets = {name: {e["name"] for e in pods.container(name).get("env", []) if "valueFrom" in e}
                    for name in pods.workloads}
    assert from_secrets == {"grafana": {"GF_SECURITY_ADMIN_PASSWORD"}, "marquez-db": {"POSTGRES_PASSWORD"},
                            "marquez-api": {"POSTGRES_PASSWORD"}, "prometheus": set(), "alertmanager": set(),
                            "marquez-web": set()}
    assert pods.env("grafana")["GF_SECURITY_ADMIN_PASSWORD"] == "grafana-on-k8s"
    assert pods.env("marquez-api")["POSTGRES_PASSWORD"] == "marquez-on-k8s"
    for r in run.registrations:
        text = json.dumps(r.inputs)
        if r.type != SECRET:
            assert "grafana-on-k8s" not in text and "marquez-on-k8s" not in text, r.name
    claims = {r["metadata"]["name"]: r for r in run.of_type(CLAIM)}
    assert set(claims) == {"prometheus-data", "grafana-data", "marquez-db-data"}
    assert all(c.retain_on_delete for c in claims.values())
    assert pods.data("prometheus") == {"/prometheus": "prometheus-data"}
    assert pods.data("grafana") == {"/var/lib/grafana": "grafana-data"}
    assert pods.data("marquez-db") == {"/var/lib/postgresql/data": "marquez-db-data"}
    # a new claim is root's: the group the image runs as may write it (Postgres chowns)
    assert pods.pod("prometheus")["securityContext"]["fsGroup"] == 65534
    assert pods.pod("grafana")["securityContext"]["fsGroup"] == 472
    assert "securityContext" not in pods.pod("marquez-db")


def test_every_port_is_forwarded_at_the_docker_engines_host_ports(runs):
    run = runs[(("telemetry", "lineage"), "full")][1]
    forwards = sorted(f.split("port-forward ")[1] for f in run.outputs["portForwards"])
    assert forwards == ["service/alertmanager 19093:9093", "service/grafana 3004:3000",
                        "service/marquez-api 5002:5000 5001:5001", "service/marquez-db 5433:5432",
                        "service/marquez-web 3003:3000", "service/prometheus 19090:9090"]


@pytest.fixture(scope="module")
def their_manifests(runs):
    """Manifests of their services, and those that lineage changes (Connect's, Flink's);
    test_kubernetes.py validates the others."""
    ours = ("prometheus", "alertmanager", "grafana", "marquez", "openlineage", "OPENLINEAGE")
    unique = {text: m for _, k8s_run in runs.values() for m in manifests(k8s_run)
              if any(word in (text := json.dumps(m, sort_keys=True)) for word in ours)}
    return list(unique.values())


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_validates_against_the_kubernetes_schemas(their_manifests, version):
    assert_valid(their_manifests, version)
