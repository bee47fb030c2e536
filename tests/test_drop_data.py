"""commands/drop_data.py (`make drop-data`): exactly one stack's data volumes, on real
Docker engines, labelled as the program labels them (a second engine of the tests' own
for the stacks without a prefix, whose names any real stack on the shared engine could
hold); claims through a stand-in kubectl that answers as the cluster would, selectors
included. A stand-in pulumi says what each stack's state holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from engine import docker
from harness import KUBECTL_START, PROJECT_DIR, VOLUME, run_program, stand_in

from commands import drop_data

DATA = "dev.factorhouse.local"

# `pulumi stack export`: the state in $STATE_<stack> (- as _) when set, else no such stack; with
# $BACKEND_DOWN set, a backend the CLI cannot read
FAKE_PULUMI = r"""#!/bin/sh
echo "$*" >> "$CALLS"
if [ "$1 $2" = "stack export" ] && [ -n "${BACKEND_DOWN:-}" ]; then
  echo "error: failed to load checkpoint: $BACKEND_DOWN" >&2; exit 255
fi
if [ "$1 $2" = "stack export" ]; then
  eval "state=\${STATE_$(echo "$4" | tr -- - _):-}"
  [ -n "$state" ] && { cat "$state"; exit 0; }
  echo "error: no stack named '$4' found" >&2; exit 255
fi
exit 0
"""


class Project:
    """A project folder with stack files, a stand-in pulumi, and the volumes a test made."""

    def __init__(self, tmp_path: Path, host: str | None = None):
        self.dir = tmp_path / "project"
        self.dir.mkdir()
        self.tmp = tmp_path
        self.host = host  # the engine the stacks live on (None: the default one)
        self.bin = stand_in(tmp_path, "pulumi", FAKE_PULUMI)
        self.env = {"PATH": f"{self.bin}:/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path / "home"),
                    "CALLS": str(tmp_path / "calls")}
        self.made: list[str] = []

    def stack(self, name: str, **config: str) -> str:
        if self.host:
            config.setdefault("dockerHost", self.host)
        lines = "".join(f"  factorhouse-local:{key}: {json.dumps(value)}\n" for key, value in config.items())
        (self.dir / f"Pulumi.{name}.yaml").write_text(f"config:\n{lines}" if lines else "config: {}\n")
        return name

    def state(self, stack: str, resources: list[dict]) -> None:
        path = self.tmp / f"state-{stack}.json"
        path.write_text(json.dumps({"version": 3, "deployment": {"resources": resources}}))
        self.env[f"STATE_{stack.replace('-', '_')}"] = str(path)

    def volume(self, name: str, stack: str | None = None, data: bool = True) -> str:
        """A volume as the program labels it (stack None: as it did before volumes carried
        their stack; data False: not the program's)."""
        assert not self.exists(name), f"volume {name} exists already: not the test's to use"
        labels = ([f"--label={DATA}=data"] if data else []) + \
            ([f"--label={DATA}.stack=factorhouse-local/{stack}"] if stack else [])
        docker("volume", "create", *labels, name, host=self.host, check=True)
        self.made.append(name)
        return name

    def exists(self, name: str) -> bool:
        return docker("volume", "inspect", name, host=self.host).returncode == 0

    def remaining(self) -> set[str]:
        return {name for name in self.made if self.exists(name)}

    def drop(self, stack: str, *flags: str, interactive: bool = False, answer: str = "",
             while_asked=lambda: None) -> tuple[int, list[str]]:
        """drop_data.main on `stack`; (its exit code, what it said, then what it asked);
        `while_asked` runs while the user is being asked (what else happens meanwhile)."""
        said: list[str] = []
        asked: list[str] = []

        def ask(question: str) -> str:
            asked.append(question)
            while_asked()
            return answer

        code = drop_data.main(["--stack", stack, "--project-dir", str(self.dir), *flags], env=self.env, ask=ask,
                              interactive=interactive, say=said.append)
        return code, said + [f"asked: {q}" for q in asked]

    def clean(self) -> None:
        for name in self.made:
            docker("volume", "rm", "-f", name, host=self.host)


@pytest.fixture
def shared(tmp_path, base_image):
    """Stacks on the default (shared) engine, with names of their own."""
    project = Project(tmp_path)
    yield project
    project.clean()


@pytest.fixture
def private(tmp_path, second_engine):
    """Stacks on the tests' own second engine: names without a prefix are safe there."""
    project = Project(tmp_path, host=second_engine.host)
    yield project
    project.clean()


def test_the_list_of_data_volumes_is_the_programs_with_every_stack_mode_and_catalog():
    from settings import STACKS
    made = set()
    for mode in ("zookeeper", "kraft"):
        for catalog in ("rest", "hive"):
            run = run_program({"kafkaMode": mode, "catalog": catalog, "stacks": json.dumps(list(STACKS))})
            made |= {v["name"] for v in run.of_type(VOLUME)}
    assert made == set(drop_data.DATA_VOLUMES)


def test_two_stacks_one_without_a_prefix_only_the_dropped_ones_data_goes(private):
    p = private
    dev, alice = p.stack("dev"), p.stack("alice", namePrefix="alice-")
    dev_data = {p.volume(n, "dev") for n in ("zookeeper-data", "kafka-1-data", "kafka-1-kraft-data", "minio-data")}
    alice_data = {p.volume(f"alice-{n}", "alice") for n in ("zookeeper-data", "kafka-1-data", "minio-data")}
    dev_legacy, alice_legacy = p.volume("postgres-data"), p.volume("alice-postgres-data")
    bobs = p.volume("kafka-2-data", "bob")  # another stack's, under a name of dev's
    not_ours = p.volume("kafka-3-data", data=False)  # no label of the program's
    renamed = p.volume("old-postgres-data", "dev")  # dev's, from when its prefix was old-
    everything = p.remaining()

    code, said = p.drop(dev, "--yes")
    assert code == 0, said
    assert p.remaining() == everything - dev_data
    assert said[0] == (f"Stack dev's data on the Docker engine at {p.host}, to be deleted (4 volumes): "
                       "kafka-1-data, kafka-1-kraft-data, minio-data, zookeeper-data")
    assert "postgres-data; if they are, `make drop-data STACK=dev LEGACY=1` deletes them too" in said[1]
    assert "old-postgres-data" in said[2] and "namePrefix changed" in said[2]
    assert said[3:] == [f"deleted volume {n}" for n in sorted(dev_data)]

    # the volume made before volumes carried their stack, only when told
    code, said = p.drop(dev, "--yes", "--legacy")
    assert code == 0 and p.remaining() == everything - dev_data - {dev_legacy}, said
    assert said[-1] == "deleted volume postgres-data"

    code, said = p.drop(alice, "--yes")
    assert code == 0, said
    assert p.remaining() == {alice_legacy, bobs, not_ours, renamed}
    code, said = p.drop(dev, "--yes", "--legacy")
    assert code == 0 and said[-1] == f"Stack dev has no data to drop on the Docker engine at {p.host}."
    assert p.remaining() == {alice_legacy, bobs, not_ours, renamed}


def test_without_a_terminal_or_yes_it_lists_and_refuses_in_one_line(shared):
    stack = f"t{uuid.uuid4().hex[:8]}"
    prefix = f"fhl-test-{stack}-"
    shared.stack(stack, namePrefix=prefix)
    volumes = {shared.volume(prefix + "minio-data", stack), shared.volume(prefix + "postgres-data", stack)}
    # as `make drop-data` runs it, with no terminal (stdin not a tty)
    result = subprocess.run([sys.executable, "commands/drop_data.py", "--stack", stack, "--project-dir",
                             str(shared.dir)], cwd=PROJECT_DIR, env={**shared.env, "PYTHONDONTWRITEBYTECODE": "1"},
                            stdin=subprocess.DEVNULL, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stdout.splitlines() == [
        f"Stack {stack}'s data on the Docker engine at unix:///var/run/docker.sock, to be deleted (2 volumes): "
        f"{prefix}minio-data, {prefix}postgres-data"]
    assert result.stderr.splitlines() == [
        f"Nothing deleted: there is no terminal to ask; `make drop-data STACK={stack} YES=1` (drop_data.py --yes) "
        "deletes the 2 volumes listed above"]
    assert shared.remaining() == volumes


def one_volume(project: Project) -> tuple[str, str]:
    """A stack of a name of its own with one data volume on the shared engine."""
    stack = f"t{uuid.uuid4().hex[:8]}"
    prefix = f"fhl-test-{stack}-"
    project.stack(stack, namePrefix=prefix)
    return stack, project.volume(prefix + "kafka-1-data", stack)


# the prompt says [y/N]: only a yes deletes; no answer, a no, and anything else do not
@pytest.mark.parametrize("answer", ["", "n", "N", "no", "nope", "yes please", "q"])
def test_at_a_terminal_any_answer_but_yes_deletes_nothing(shared, answer):
    stack, volume = one_volume(shared)
    code, said = shared.drop(stack, interactive=True, answer=answer)
    assert code == 1 and shared.remaining() == {volume}
    assert said[-2:] == ["Nothing deleted.",
                         f"asked: Delete the 1 volume of stack {stack} listed above, with their data, for good? [y/N] "]


@pytest.mark.parametrize("answer", ["y", "Y", " yes ", "YES"])
def test_at_a_terminal_a_yes_deletes(shared, answer):
    stack, volume = one_volume(shared)
    code, said = shared.drop(stack, interactive=True, answer=answer)
    assert code == 0 and shared.remaining() == set()
    assert said[-2:] == [f"deleted volume {volume}",
                         f"asked: Delete the 1 volume of stack {stack} listed above, with their data, for good? [y/N] "]


def test_a_volume_that_cannot_be_deleted_fails_the_command_naming_it_and_the_rest_go(shared, base_image):
    """Between the check and the deletion (while the user is asked) a container starts
    using one of the volumes: the engine refuses to delete that one; the other is deleted,
    and the command fails (exit 1), naming it with the engine's own words."""
    stack = f"t{uuid.uuid4().hex[:8]}"
    prefix = f"fhl-test-{stack}-"
    shared.stack(stack, namePrefix=prefix)
    taken, free = shared.volume(prefix + "minio-data", stack), shared.volume(prefix + "postgres-data", stack)
    user = f"fhl-test-user-{stack}"

    def a_container_takes_one():
        docker("create", "--name", user, "--network", "none", "-v", f"{taken}:/data", base_image, "/bin/busybox",
               "true", check=True)
    try:
        code, said = shared.drop(stack, interactive=True, answer="y", while_asked=a_container_takes_one)
    finally:
        docker("rm", "-f", user)
    assert code == 1, said
    assert shared.remaining() == {taken}
    [failed] = [line for line in said if line.startswith(f"volume {taken} was not deleted: ")]
    assert "in use" in failed, failed
    assert f"deleted volume {free}" in said


def test_an_engine_that_does_not_answer_is_refused_in_one_line_not_taken_for_no_data(tmp_path, capsys):
    project = Project(tmp_path, host=f"unix:///tmp/fhl-no-engine-{uuid.uuid4().hex[:8]}.sock")
    stack = project.stack("alice")
    code, said = project.drop(stack, "--yes")
    assert code == 2 and said == []
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"the Docker engine at {project.host} does not answer (")
    assert line.endswith("); start it, or fix the stack's dockerHost, and run this again")


def test_a_state_backend_that_cannot_be_read_is_refused_not_taken_for_no_stack(shared, capsys):
    stack, volume = one_volume(shared)
    shared.env["BACKEND_DOWN"] = "blob (key \".pulumi/stacks/x.json\") (code=Unknown): connection refused"
    code, said = shared.drop(stack, "--yes")
    assert code == 2 and said == [] and shared.remaining() == {volume}
    assert capsys.readouterr().err.splitlines() == [
        f"pulumi cannot read stack {stack}'s state (error: failed to load checkpoint: {shared.env['BACKEND_DOWN']}); "
        "fix the state backend (PULUMI_BACKEND_URL, or `pulumi login`), and run this again"]


def test_a_stack_that_still_has_containers_is_refused(shared, base_image):
    stack = f"t{uuid.uuid4().hex[:8]}"
    prefix = f"fhl-test-{stack}-"
    shared.stack(stack, namePrefix=prefix)
    volume = shared.volume(prefix + "minio-data", stack)
    container = f"{prefix}minio"
    docker("create", "--name", container, "--network", "none", "--label", f"{DATA}.stack=factorhouse-local/{stack}",
           base_image, "/bin/busybox", "true", check=True)
    try:
        code, said = shared.drop(stack, "--yes")
    finally:
        docker("rm", "-f", container)
    assert code == 2 and said == [] and shared.remaining() == {volume}


def test_a_volume_that_a_container_uses_is_refused_naming_it(shared, base_image, capsys):
    stack = f"t{uuid.uuid4().hex[:8]}"
    prefix = f"fhl-test-{stack}-"
    shared.stack(stack, namePrefix=prefix)
    volume = shared.volume(prefix + "minio-data", stack)
    user = f"fhl-test-user-{stack}"  # not this stack's: it carries no stack label
    docker("create", "--name", user, "--network", "none", "-v", f"{volume}:/data", base_image, "/bin/busybox", "true",
           check=True)
    try:
        code, said = shared.drop(stack, "--yes")
    finally:
        docker("rm", "-f", user)
    assert code == 2 and said == [] and shared.remaining() == {volume}
    assert capsys.readouterr().err.splitlines() == [
        f"Nothing deleted: in use on the Docker engine at unix:///var/run/docker.sock: {volume} by {user}; "
        "`make down` the stack that uses them first"]


def test_a_stack_whose_state_still_has_resources_is_refused(shared, capsys):
    stack = f"t{uuid.uuid4().hex[:8]}"
    prefix = f"fhl-test-{stack}-"
    shared.stack(stack, namePrefix=prefix)
    volume = shared.volume(prefix + "minio-data", stack)
    shared.state(stack, [{"type": "pulumi:pulumi:Stack", "urn": "stack"},
                         {"type": "pulumi:providers:docker", "urn": "provider"},
                         {"type": "docker:index/network:Network", "urn": "network"}])
    code, said = shared.drop(stack, "--yes")
    assert code == 2 and said == [] and shared.remaining() == {volume}
    assert capsys.readouterr().err.splitlines() == [
        f"stack {stack} still has 1 resource in its state: `make down STACK={stack}` first, then this again"]
    # after `make down` the state holds nothing (the stack resource and providers aside)
    shared.state(stack, [{"type": "pulumi:pulumi:Stack", "urn": "stack"}])
    code, said = shared.drop(stack, "--yes")
    assert code == 0 and shared.remaining() == set()
    assert f"stack export --stack {stack}" in Path(shared.env["CALLS"]).read_text()


def test_make_drop_data_passes_the_stack_and_the_flags():
    def command(*args: str) -> str:
        result = subprocess.run(["make", "--no-print-directory", "-n", "drop-data", *args], cwd=PROJECT_DIR,
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return [line for line in result.stdout.splitlines() if "drop_data.py" in line][0]

    assert command().split()[1:] == ["commands/drop_data.py", "--stack", "dev"]
    assert command("STACK=alice", "YES=1").split()[1:] == ["commands/drop_data.py", "--stack", "alice", "--yes"]
    assert command("YES=0", "LEGACY=1").split()[1:] == ["commands/drop_data.py", "--stack", "dev", "--legacy"]


# -- Kubernetes -------------------------------------------------------------------------

# A stand-in kubectl over a cluster in $KUBE_WORLD (JSON): the context and namespace it
# answers for, and its objects with their labels; it selects by label as kubectl does
# (key=value, !key), and records every call in $CALLS. As kubectl fails: a --context
# the kubeconfig does not name ("contexts": the ones it names), a cluster that does not
# answer ("down"), a claim the user may not delete ("undeletable").
FAKE_KUBECTL = KUBECTL_START + r"""
if "--context" in flags and flags["--context"] not in world.get("contexts", [world["context"]]):
    print("error: context was not found for specified context: " + flags["--context"], file=sys.stderr); sys.exit(1)
if world.get("down"):
    print("The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?",
          file=sys.stderr); sys.exit(1)
here = flags.get("--context") == world["context"] and flags.get("--namespace") == world["namespace"]
objects = world["objects"] if here else []

def selected(labels):
    for term in filter(None, flags.get("--selector", "").split(",")):
        if term.startswith("!"):
            if term[1:] in labels:
                return False
        elif labels.get(term.split("=", 1)[0]) != term.split("=", 1)[1]:
            return False
    return True

verb, what = rest[0], rest[1]
if verb == "get" and what == "namespace":
    if here and rest[2] == world["namespace"]:
        print("namespace/" + rest[2]); sys.exit(0)
    print('Error from server (NotFound): namespaces "%s" not found' % rest[2], file=sys.stderr); sys.exit(1)
if verb == "get" and flags.get("--output") == "json":
    pods = [{"metadata": {"name": o["name"]}, "spec": {"volumes": [
        {"name": c, "persistentVolumeClaim": {"claimName": c}} for c in o.get("claims", [])]}}
        for o in objects if o["kind"] == "pod"]
    print(json.dumps({"items": pods})); sys.exit(0)
if verb == "get":
    kinds = [k.rstrip("s") for k in what.split(",")]
    for o in objects:
        if o["kind"] in kinds and selected(o.get("labels", {})):
            print(o["kind"] + "/" + o["name"])
    sys.exit(0)
if verb == "delete" and rest[2] in world.get("undeletable", []):
    print('Error from server (Forbidden): persistentvolumeclaims "%s" is forbidden: User "alice" cannot delete '
          'resource "persistentvolumeclaims" in API group "" in the namespace "%s"' % (rest[2], flags["--namespace"]),
          file=sys.stderr); sys.exit(1)
if verb == "delete" and what == "persistentvolumeclaim":
    world["objects"] = [o for o in world["objects"] if not (here and o["kind"] == what and o["name"] == rest[2])]
    json.dump(world, open(os.environ["KUBE_WORLD"], "w"))
    print('persistentvolumeclaim "%s" deleted' % rest[2]); sys.exit(0)
print("error: unexpected call", file=sys.stderr); sys.exit(1)
"""

PLATFORM = {"app.kubernetes.io/part-of": "factorhouse-local"}


def claim(name: str, stack: str | None = None) -> dict:
    labels = {**PLATFORM, "factorhouse.local": "data"}
    if stack:
        labels["factorhouse.local/stack"] = f"factorhouse-local.{stack}"
    return {"kind": "persistentvolumeclaim", "name": name, "labels": labels}


class Cluster:
    def __init__(self, tmp_path: Path, context: str | None, namespace: str, objects: list[dict], **how: object):
        self.project = Project(tmp_path)
        stand_in(tmp_path, "kubectl", FAKE_KUBECTL)
        self.world = tmp_path / "world.json"
        self.world.write_text(json.dumps({"context": context, "namespace": namespace, "objects": objects, **how}))
        self.project.env["KUBE_WORLD"] = str(self.world)

    def claims(self) -> set[str]:
        return {o["name"] for o in json.loads(self.world.read_text())["objects"] if o["kind"] == "persistentvolumeclaim"}

    def kubectl_calls(self) -> list[list[str]]:
        calls = Path(self.project.env["CALLS"]).read_text().splitlines()
        return [json.loads(line) for line in calls if line.startswith("[")]


def test_kubernetes_only_this_stacks_claims_in_its_namespace_of_the_current_context(tmp_path):
    cluster = Cluster(tmp_path, None, "factorhouse-alice-k8s", [
        claim("kafka-1-data", "alice-k8s"), claim("minio-data", "alice-k8s"),
        claim("postgres-data"),  # made before claims carried their stack
        claim("zookeeper-data", "bob"),  # another stack's, in this namespace
        {"kind": "persistentvolumeclaim", "name": "notes", "labels": {}},  # not the platform's
    ])
    cluster.project.stack("alice-k8s", engine="kubernetes")
    code, said = cluster.project.drop("alice-k8s", "--yes")
    assert code == 0, said
    assert cluster.claims() == {"postgres-data", "zookeeper-data", "notes"}
    where = "namespace factorhouse-alice-k8s of kubectl context (the current one)"
    assert said[0] == f"Stack alice-k8s's data on {where}, to be deleted (2 claims): kafka-1-data, minio-data"
    assert "postgres-data" in said[1] and "LEGACY=1" in said[1]
    assert said[2:] == ["deleted claim kafka-1-data", "deleted claim minio-data"]
    scope = ["--namespace", "factorhouse-alice-k8s"]
    assert cluster.kubectl_calls() == [
        [*scope, "get", "namespace", "factorhouse-alice-k8s", "--output", "name"],
        [*scope, "get", "deployments,statefulsets,jobs,pods", "--selector", "app.kubernetes.io/part-of=factorhouse-local",
         "--output", "name"],
        [*scope, "get", "namespace", "factorhouse-alice-k8s", "--output", "name"],
        [*scope, "get", "persistentvolumeclaims", "--selector",
         "factorhouse.local=data,factorhouse.local/stack=factorhouse-local.alice-k8s", "--output", "name"],
        [*scope, "get", "persistentvolumeclaims", "--selector", "factorhouse.local=data,!factorhouse.local/stack",
         "--output", "name"],
        [*scope, "get", "pods", "--output", "json"],
        [*scope, "delete", "persistentvolumeclaim", "kafka-1-data"],
        [*scope, "delete", "persistentvolumeclaim", "minio-data"],
    ]
    code, said = cluster.project.drop("alice-k8s", "--yes", "--legacy")
    assert code == 0 and cluster.claims() == {"zookeeper-data", "notes"}, said


def test_kubernetes_the_stacks_context_and_namespace_settings_are_used(tmp_path):
    cluster = Cluster(tmp_path, "kind-team", "team-alice", [claim("minio-data", "alice")])
    cluster.project.stack("alice", engine="kubernetes", kubeContext="kind-team", namespace="team-alice")
    code, said = cluster.project.drop("alice", "--yes")
    assert code == 0 and cluster.claims() == set(), said
    calls = cluster.kubectl_calls()
    assert calls and all(call[:4] == ["--context", "kind-team", "--namespace", "team-alice"] for call in calls)


def test_kubernetes_a_stack_whose_workloads_remain_is_refused(tmp_path, capsys):
    cluster = Cluster(tmp_path, None, "factorhouse-alice", [
        claim("minio-data", "alice"), {"kind": "deployment", "name": "minio", "labels": PLATFORM}])
    cluster.project.stack("alice", engine="kubernetes")
    code, said = cluster.project.drop("alice", "--yes")
    assert code == 2 and said == [] and cluster.claims() == {"minio-data"}
    assert capsys.readouterr().err.splitlines() == [
        "stack alice still has deployment/minio on namespace factorhouse-alice of kubectl context (the current one): "
        "`make down STACK=alice` first, then this again"]


def test_kubernetes_a_claim_that_a_pod_mounts_is_refused(tmp_path, capsys):
    cluster = Cluster(tmp_path, None, "factorhouse-alice", [
        claim("minio-data", "alice"), {"kind": "pod", "name": "backup", "claims": ["minio-data"]}])
    cluster.project.stack("alice", engine="kubernetes")
    code, said = cluster.project.drop("alice", "--yes")
    assert code == 2 and cluster.claims() == {"minio-data"}
    assert "minio-data by backup" in capsys.readouterr().err


def test_kubernetes_a_namespace_that_is_gone_has_nothing_to_drop(tmp_path):
    cluster = Cluster(tmp_path, None, "elsewhere", [])
    cluster.project.stack("alice", engine="kubernetes")
    code, said = cluster.project.drop("alice", "--yes")
    assert code == 0
    assert said == ["Stack alice has no data to drop on namespace factorhouse-alice of kubectl context (the current one)."]


@pytest.mark.parametrize("how, context, cause", [
    ({"contexts": ["kind-kind"]}, "kind-tema", "error: context was not found for specified context: kind-tema"),
    ({"down": True}, "kind-team", "The connection to the server 127.0.0.1:6443 was refused - did you specify the "
                                  "right host or port?"),
], ids=["a-context-the-kubeconfig-does-not-name", "a-cluster-that-does-not-answer"])
def test_kubernetes_a_kubectl_that_cannot_reach_the_cluster_is_refused_not_taken_for_no_namespace(
        tmp_path, capsys, how, context, cause):
    cluster = Cluster(tmp_path, "kind-team", "team-alice", [claim("minio-data", "alice")], **how)
    cluster.project.stack("alice", engine="kubernetes", kubeContext=context, namespace="team-alice")
    code, said = cluster.project.drop("alice", "--yes")
    assert code == 2 and said == [] and cluster.claims() == {"minio-data"}
    assert capsys.readouterr().err.splitlines() == [
        f"kubectl cannot reach namespace team-alice of kubectl context {context} ({cause}); fix the stack's "
        "kubeContext (`kubectl config get-contexts` lists them) or start the cluster, and run this again"]
    assert not [call for call in cluster.kubectl_calls() if "delete" in call]


def test_kubernetes_a_claim_that_cannot_be_deleted_fails_the_command_naming_it_and_the_rest_go(tmp_path):
    cluster = Cluster(tmp_path, None, "factorhouse-alice", [claim("minio-data", "alice"), claim("redis-data", "alice")],
                      undeletable=["minio-data"])
    cluster.project.stack("alice", engine="kubernetes")
    code, said = cluster.project.drop("alice", "--yes")
    assert code == 1 and cluster.claims() == {"minio-data"}
    assert said[1:] == [
        'claim minio-data was not deleted: Error from server (Forbidden): persistentvolumeclaims "minio-data" is '
        'forbidden: User "alice" cannot delete resource "persistentvolumeclaims" in API group "" in the namespace '
        '"factorhouse-alice"',
        "deleted claim redis-data"]
