"""commands/recover.py, what `make up`, `make preview` and `make down` run first: a
stack state with a pending create (in Pulumi's export format, served by a stand-in
`pulumi`) and containers on a real Docker engine, locks of ended and running processes.
The tests look only at containers and networks they made (names of their own)."""

import json
import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from engine import docker
from harness import stand_in

from commands import recover, stack

CONTAINER = "docker:index/container:Container"
NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"

FAKE_PULUMI = r"""#!/bin/sh
echo "$*" >> "$CALLS"
case "$1 $2" in
  "stack export") cat "$STATE" ;;
  "stack import") cp "$6" "$IMPORTED" ;;
esac
exit 0
"""


class World:
    """A project with a stack of its own name, its state, and what it made on the engine."""

    def __init__(self, tmp_path: Path, base_image: str):
        self.base = base_image
        self.stack = f"t{uuid.uuid4().hex[:8]}"
        self.prefix = f"fhl-test-{self.stack}-"
        self.project = tmp_path / "project"
        self.project.mkdir()
        self.state_folder = self.project / ".pulumi-state"
        self.bin = stand_in(tmp_path, "pulumi", FAKE_PULUMI)
        self.calls, self.state_file, self.imported = tmp_path / "calls", tmp_path / "state.json", tmp_path / "imported"
        self.env = {"PATH": f"{self.bin}:/usr/bin:/bin", "CALLS": str(self.calls), "STATE": str(self.state_file),
                    "IMPORTED": str(self.imported), "HOME": str(tmp_path)}
        self.made: list[tuple[str, str]] = []
        self.resources: list[dict] = []
        self.pending: list[dict] = []

    def urn(self, kind: str, name: str) -> str:
        return f"urn:pulumi:{self.stack}::factorhouse-local::{kind}::{name}"

    def container(self, name: str, ours: bool = True, exit_code: int | None = None) -> str:
        """A container on the engine (ours: with this stack's label); exit_code: it ran once."""
        full = self.prefix + name
        labels = ["--label", f"dev.factorhouse.local={name}"]
        if ours:
            labels += ["--label", f"dev.factorhouse.local.stack=factorhouse-local/{self.stack}"]
        command = ["/bin/busybox", "sh", "-c", f"exit {exit_code}"] if exit_code is not None else \
            ["/bin/busybox", "sleep", "300"]
        docker("run", "-d", "--name", full, "--network", "none", *labels, self.base, *command, check=True)
        self.made.append(("container", full))
        return full

    def container_id(self, full: str) -> str:
        return docker("inspect", "--format", "{{.Id}}", full, check=True).stdout.strip()

    def in_state(self, name: str, container_id: str | None = None, **more) -> None:
        """The state holds container `name` (as made: its id; or a container that is gone)."""
        full = self.prefix + name
        resource_id = container_id or (self.container_id(full) if self.exists("container", full) else f"{name}-gone")
        self.resources.append({"urn": self.urn(CONTAINER, name), "type": CONTAINER, "id": resource_id,
                               "inputs": {"name": full, **more.get("inputs", {})},
                               "outputs": {"name": full, **more.get("outputs", {})},
                               **({"pendingReplacement": True} if more.get("pending_replacement") else {})})

    def pending_create(self, kind: str, name: str, full: str) -> None:
        self.pending.append({"resource": {"urn": self.urn(kind, name), "type": kind, "inputs": {"name": full}},
                             "type": "creating"})

    def write_state(self) -> None:
        self.state_file.write_text(json.dumps({"version": 3, "deployment": {
            "manifest": {"time": "2026-11-30T00:00:00Z", "magic": "", "version": "v3.274.0"},
            "resources": [{"urn": self.urn("pulumi:pulumi:Stack", f"factorhouse-local-{self.stack}"),
                           "type": "pulumi:pulumi:Stack"}, *self.resources],
            "pending_operations": self.pending}}))

    def recover(self, action: str = "up") -> list[str]:
        self.write_state()
        said = []
        recover.recover(action, str(self.bin / "pulumi"), self.stack, self.env, self.project, self.state_folder,
                        say=said.append)
        return said

    def exists(self, kind: str, name: str) -> bool:
        return docker(kind, "inspect", name).returncode == 0

    def clean(self) -> None:
        for kind, name in self.made:
            docker(kind, "rm", "-f", name) if kind in ("container", "volume") else docker("network", "rm", name)


@pytest.fixture
def world(tmp_path, base_image):
    made = World(tmp_path, base_image)
    yield made
    made.clean()


def test_a_pending_create_with_this_stacks_container_is_removed_and_the_state_cleared(world):
    zookeeper = world.container("zookeeper")  # made by the interrupted run, never written down
    kafka = world.container("kafka-1")
    world.in_state("kafka-1")
    world.pending_create(CONTAINER, "zookeeper", zookeeper)
    said = world.recover()
    assert said == [
        f"recovered: removed container {zookeeper}: made by an interrupted run, not in the state; this run makes "
        "it again",
        "recovered: cleared 1 pending operation of an interrupted run",
    ]
    assert not world.exists("container", zookeeper) and world.exists("container", kafka)
    imported = json.loads(world.imported.read_text())
    assert imported["deployment"]["pending_operations"] == []
    assert imported["deployment"]["resources"] == json.loads(world.state_file.read_text())["deployment"]["resources"]
    assert f"stack import --stack {world.stack} --file" in world.calls.read_text()


def test_a_preview_finds_and_names_but_changes_nothing(world):
    zookeeper = world.container("zookeeper")
    world.pending_create(CONTAINER, "zookeeper", zookeeper)
    said = world.recover("preview")
    assert said == [
        f"found: container {zookeeper}, made by an interrupted run, not in the state; `make up` puts it right",
        "found: 1 pending operation of an interrupted run; `make up` puts it right",
    ]
    assert world.exists("container", zookeeper) and not world.imported.exists()


def test_a_replacement_interrupted_after_its_delete_leaves_a_new_container_that_is_removed(world):
    # the state still holds the old mc (deleted, marked) and a pending create of the new one
    new = world.container("mc")
    world.in_state("mc", container_id="0" * 64, pending_replacement=True)
    world.pending_create(CONTAINER, "mc", new)
    said = world.recover()
    assert said[0].startswith(f"recovered: removed container {new}: made by an interrupted run")
    assert not world.exists("container", new)


def test_a_container_of_that_name_that_is_not_ours_is_left_alone_and_named(world):
    foreign = world.container("zookeeper", ours=False)
    world.pending_create(CONTAINER, "zookeeper", foreign)
    said = world.recover()
    assert said[0] == (f"left alone: container {foreign} exists and is not this stack's; remove or rename it "
                       f"(`docker rm -f {foreign}`), or give this stack another namePrefix")
    assert world.exists("container", foreign)


def test_a_container_no_pending_create_names_is_never_touched(world):
    # another checkout's stack of the same name on the same engine (its own namePrefix),
    # or a run in progress elsewhere: labelled as this stack, but nothing here made it
    other = world.container("kafka-1")
    in_state = world.container("schema")
    world.in_state("schema")
    assert world.recover() == []
    assert world.exists("container", other) and world.exists("container", in_state)
    assert not world.imported.exists()  # no pending operation: the state is not rewritten


def test_a_data_volume_is_never_touched_even_one_an_interrupted_run_was_making(world):
    # the next `up` takes a volume of that name back as it is (Docker returns the one that exists)
    volume = world.prefix + "kafka-1-data"
    docker("volume", "create", "--label", "dev.factorhouse.local=data", volume, check=True)
    world.made.append(("volume", volume))
    world.pending_create(VOLUME, "volume-kafka-1-data", volume)
    assert world.recover("preview") == ["found: 1 pending operation of an interrupted run; `make up` puts it right"]
    assert world.recover("up") == ["recovered: cleared 1 pending operation of an interrupted run"]
    assert world.exists("volume", volume)


def test_only_pending_creates_are_acted_on(world):
    zookeeper = world.container("zookeeper")
    world.pending.append({"resource": {"urn": world.urn(CONTAINER, "zookeeper"), "type": CONTAINER,
                                       "inputs": {"name": zookeeper}}, "type": "updating"})
    said = world.recover()
    assert said == ["recovered: cleared 1 pending operation of an interrupted run"]
    assert world.exists("container", zookeeper)


def network(world, labelled: bool = True, with_container: bool = False) -> str:
    name = world.prefix + "factorhouse"
    docker("network", "create", *(["--label", "dev.factorhouse.local=network"] if labelled else []), name, check=True)
    world.made.insert(0, ("network", name))
    if with_container:
        docker("run", "-d", "--name", world.prefix + "kpow", "--network", name, world.base,
               "/bin/busybox", "sleep", "300", check=True)
        world.made.insert(0, ("container", world.prefix + "kpow"))
    world.pending_create(NETWORK, "network", name)
    return name


def test_a_network_made_by_an_interrupted_run_is_removed_when_empty(world):
    name = network(world)
    said = world.recover()
    assert said[0] == f"recovered: removed network {name}: made by an interrupted run, not in the state"
    assert not world.exists("network", name)


@pytest.mark.parametrize("labelled, with_container", [(False, False), (True, True)])
def test_a_network_not_certainly_ours_or_in_use_is_left_alone(world, labelled, with_container):
    name = network(world, labelled, with_container)
    said = world.recover()
    assert said[0].startswith(f"left alone: network {name} exists and is not certainly this stack's")
    assert world.exists("network", name)


def test_a_failed_one_shot_is_removed_before_an_up_only(world):
    mc = world.container("mc", exit_code=3)
    docker("wait", mc)
    world.in_state("mc", inputs={"attach": True}, outputs={"exitCode": 3})
    assert world.recover("preview") == []
    assert world.exists("container", mc)
    assert world.recover("up") == [f"recovered: removed {mc}, which exited with code 3; this run runs it again"]
    assert not world.exists("container", mc)


def test_a_failed_one_shot_that_is_not_certainly_the_states_is_left(world):
    mc = world.container("mc", exit_code=3, ours=False)
    docker("wait", mc)
    world.in_state("mc", inputs={"attach": True}, outputs={"exitCode": 3})
    assert world.recover("up") == []
    other = world.prefix + "mc2"
    docker("run", "--name", other, "--label", f"dev.factorhouse.local.stack=factorhouse-local/{world.stack}",
           world.base, "/bin/busybox", "true", check=True)
    world.made.append(("container", other))
    world.resources.clear()
    world.in_state("mc2", container_id="f" * 64, inputs={"attach": True}, outputs={"exitCode": 3})
    assert world.recover("up") == []  # another container than the state's (another id)
    assert world.exists("container", mc) and world.exists("container", other)


def lock(world, pid: int, host: str | None = None) -> Path:
    folder = world.state_folder / ".pulumi" / "locks" / "organization" / "factorhouse-local" / world.stack
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4()}.json"
    path.write_text(json.dumps({"pid": pid, "username": "alice", "hostname": host or socket.gethostname(),
                                "timestamp": "2026-11-30T10:00:00Z"}))
    return path


def ended_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def running_pulumi(folder: Path) -> subprocess.Popen:
    """A running process named pulumi (once this returns, /proc reads it so)."""
    script = folder / "pulumi"
    script.write_text("#!/bin/sh\nsleep 30\n")
    script.chmod(0o755)
    running = subprocess.Popen([str(script)])
    comm, deadline = Path(f"/proc/{running.pid}/comm"), time.monotonic() + 10
    while comm.read_text().strip() != "pulumi":  # Popen may return before the exec
        assert time.monotonic() < deadline, "the stand-in pulumi did not start"
        time.sleep(0.01)
    return running


def test_a_lock_of_a_pulumi_that_ended_is_released(world):
    path = lock(world, ended_pid())
    said = world.recover()
    assert said[0].startswith("recovered: released the lock of a pulumi that ended (pid ")
    assert not path.exists()


def test_a_lock_whose_pid_now_runs_another_program_is_released(world):
    other = subprocess.Popen(["sleep", "30"])  # the pid was reused by something else
    try:
        path = lock(world, other.pid)
        world.recover()
        assert not path.exists()
    finally:
        other.kill()


def test_a_lock_of_a_running_pulumi_or_of_another_machine_stops_the_run(world, tmp_path):
    running = running_pulumi(tmp_path)
    try:
        path = lock(world, running.pid)
        with pytest.raises(recover.Stop) as caught:
            world.recover()
        assert str(caught.value).startswith(f"stack {world.stack} is in use by pulumi (pid {running.pid}, since ")
        assert path.exists()
    finally:
        running.kill()
        running.wait()
    path.unlink()
    other = lock(world, 4242, host="build-server-7")
    with pytest.raises(recover.Stop) as caught:
        world.recover()
    assert str(caught.value) == (
        f"stack {world.stack} is locked by alice@build-server-7 (pid 4242, since 2026-11-30T10:00:00Z), another "
        f"machine; if no pulumi runs there any more, `pulumi cancel --stack {world.stack}` removes the lock")
    assert other.exists()


def another_users(monkeypatch, pid: int) -> None:
    """Process `pid` runs as another user: signalling it is not permitted."""
    kill = os.kill

    def refused(target: int, signal: int) -> None:
        if target == pid:
            raise PermissionError(1, "Operation not permitted")
        kill(target, signal)
    monkeypatch.setattr(os, "kill", refused)


@pytest.mark.parametrize("visible", [True, False], ids=["named-pulumi", "hidden-by-proc-hidepid"])
def test_a_lock_of_another_users_pulumi_is_kept_and_named_never_released(world, tmp_path, monkeypatch, visible):
    """Another user's pulumi (signalling it is refused): its name reads `pulumi`, or
    cannot be read at all (/proc mounted hidepid=2: no /proc entry, and ps finds
    nothing); either way it may run, so its lock stays, in an up and in a preview."""
    running = running_pulumi(tmp_path) if visible else None
    # hidden: a pid above the kernel's highest, which no process of this user has
    pid = running.pid if running else int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
    try:
        another_users(monkeypatch, pid)
        path = lock(world, pid)
        with pytest.raises(recover.Stop) as caught:
            world.recover("up")
        assert str(caught.value) == (f"stack {world.stack} is in use by pulumi (pid {pid}, since 2026-11-30T10:00:00Z) "
                                     "on this machine; wait for it to end, or end it, and run this again")
        assert path.exists()
        said = world.recover("preview")
        assert said == [f"found: {caught.value}"]
        assert path.exists()
    finally:
        monkeypatch.undo()
        if running:
            running.kill()
            running.wait()


def test_make_up_says_what_it_recovered_and_goes_on(world, capsys):
    zookeeper = world.container("zookeeper")
    world.pending_create(CONTAINER, "zookeeper", zookeeper)
    world.write_state()
    (world.project / "Pulumi.yaml").write_text("name: factorhouse-local\nbackend:\n  url: file://.pulumi-state\n")
    env = {**world.env, "PULUMI_CONFIG_PASSPHRASE": "test"}
    assert stack.main(["up", "--stack", world.stack, "--project-dir", str(world.project)], env=env,
                      interactive=False) == 0
    out = capsys.readouterr().out
    assert f"recovered: removed container {zookeeper}" in out
    assert world.calls.read_text().splitlines()[-1] == f"up --stack {world.stack} --refresh --yes --skip-preview"


def test_when_it_cannot_tell_what_runs_under_a_pid_it_takes_it_for_a_pulumi(monkeypatch):
    gone = ended_pid()
    me = subprocess.Popen(["sleep", "30"])
    try:
        assert recover.pulumi_may_run(me.pid) is False  # /proc says: sleep
        monkeypatch.setattr(Path, "exists", lambda self: False if str(self).startswith("/proc/") else True)
        monkeypatch.setenv("PATH", "/nonexistent")  # and no ps to ask
        assert recover.pulumi_may_run(me.pid) is True
    finally:
        me.kill()
        me.wait()
    assert recover.pulumi_may_run(gone) is False


def test_a_preview_goes_on_past_a_lock(world):
    other = lock(world, 4242, host="build-server-7")
    said = world.recover("preview")
    assert said[0].startswith(f"found: stack {world.stack} is locked by alice@build-server-7")
    assert other.exists()


def test_on_another_backend_an_update_in_progress_stops_the_run(world):
    (world.bin / "pulumi").write_text(
        '#!/bin/sh\necho "$*" >> "$CALLS"\n'
        f'case "$1 $2" in "stack ls") echo \'[{{"name": "{world.stack}", "updateInProgress": true}}]\' ;; '
        '"stack export") cat "$STATE" ;; esac\n')
    world.write_state()
    with pytest.raises(recover.Stop) as caught:
        recover.recover("up", str(world.bin / "pulumi"), world.stack, world.env, world.project, None, say=print)
    assert str(caught.value).startswith(f"an update of stack {world.stack} is in progress")


KUBECTL = r"""#!/bin/sh
echo "kubectl $*" >> "$CALLS"
case "$*" in
  *"get deployment kafka-1 "*) printf '{"app.kubernetes.io/part-of":"factorhouse-local"}' ;;
  *"get service kafka-1 "*) printf '{"team":"theirs"}' ;;
  *" delete "*) ;;
  *) exit 1 ;;
esac
"""


def test_on_kubernetes_a_pending_create_of_the_platform_is_deleted_and_another_owners_left(world):
    stand_in(world.bin.parent, "kubectl", KUBECTL)
    (world.project / f"Pulumi.{world.stack}.yaml").write_text(
        "config:\n  factorhouse-local:engine: kubernetes\n  factorhouse-local:kubeContext: kind-team\n")
    for kind in ("kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service",
                 "kubernetes:core/v1:PersistentVolumeClaim"):
        world.pending.append({"resource": {"urn": world.urn(kind, "kafka-1"), "type": kind,
                                           "inputs": {"metadata": {"name": "kafka-1"}}}, "type": "creating"})
    said = world.recover()
    namespace = f"factorhouse-{world.stack}"
    assert said == [
        f"recovered: removed deployment kafka-1 of namespace {namespace}: made by an interrupted run, not in the state",
        f"left alone: service kafka-1 exists in namespace {namespace} and is not this platform's; remove it "
        f"(`kubectl --context kind-team --namespace {namespace} delete service kafka-1`) or use another namespace",
        "recovered: cleared 3 pending operations of an interrupted run",
    ]
    kubectl_calls = [line for line in world.calls.read_text().splitlines() if line.startswith("kubectl")]
    assert f"kubectl --context kind-team --namespace {namespace} delete deployment kafka-1 --wait=true" in kubectl_calls
    assert not any("persistentvolumeclaim" in line for line in kubectl_calls)  # a claim is never touched


def test_without_docker_or_kubectl_installed_it_finds_nothing_and_goes_on(world):
    zookeeper = world.prefix + "zookeeper"
    world.pending_create(CONTAINER, "zookeeper", zookeeper)
    tools = world.bin.parent / "tools"  # what the stand-in pulumi needs, and no docker nor kubectl
    tools.mkdir()
    for tool in ("cat", "cp"):
        (tools / tool).symlink_to(f"/bin/{tool}")
    env = {**world.env, "PATH": f"{world.bin}:{tools}"}
    world.write_state()
    said = []
    recover.recover("up", str(world.bin / "pulumi"), world.stack, env, world.project, world.state_folder,
                    say=said.append)
    assert said == ["recovered: cleared 1 pending operation of an interrupted run"]


def test_recovery_reads_the_settings_as_the_program_gets_them_defaults_included(tmp_path):
    # no stack file: every key at its Pulumi.yaml default, as the CLI hands them over
    defaults = recover.stack_settings(tmp_path, "new")
    assert defaults["engine"] == "docker" and defaults["dockerHost"] == "" and defaults["namespace"] == ""
    (tmp_path / "Pulumi.new.yaml").write_text(
        "config:\n  factorhouse-local:engine: kubernetes\n  factorhouse-local:createNamespace: false\n"
        "  factorhouse-local:postgresPassword:\n    secure: v1:abc\n")
    given = recover.stack_settings(tmp_path, "new")
    assert given == {**defaults, "engine": "kubernetes", "createNamespace": "false"}
