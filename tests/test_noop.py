"""commands/noop.py, how `make up` knows there is nothing to do: each kind of drift on a
real Docker engine (containers labelled as engines/docker.py labels them) and on a
Kubernetes namespace (a stand-in kubectl) is found, and nothing that changed is skipped
(a setting, a file of the project, an image tag, the downloads manifest, the program, a
licence file, the environment, the CLI, the state changed by hand, followLatest). Then
commands/stack.py with a stand-in pulumi: which pulumi commands each case runs. The tests
look only at containers and images they made (names of their own)."""

import json
import os
import time
import uuid
from pathlib import Path

import pytest

from engine import docker, engine_problem, need
from harness import project_copy, stand_in

from commands import noop, stack

STATE = ".pulumi-state/.pulumi/stacks/factorhouse-local/{stack}.json"


class World:
    """A project of its own, a stack of its own name with a local state, and that stack's
    containers on the engine: a service with a health check, and a one-shot that exited 0."""

    def __init__(self, tmp_path: Path, base_image: str):
        self.stack = f"t{uuid.uuid4().hex[:8]}"
        self.prefix = f"fhl-test-{self.stack}-"
        self.project = project_copy(tmp_path)
        for name, text in {"__main__.py": "print('program')\n", "stacks/kafka.py": "KAFKA = 1\n",
                           "resources/downloads.yaml": "kafka-connectors: []\n",
                           "resources/kpow/jaas.conf": "jaas\n"}.items():
            (self.project / name).parent.mkdir(parents=True, exist_ok=True)
            (self.project / name).write_text(text)
        self.folder = self.project / ".pulumi-state"
        self.state = self.project / STATE.format(stack=self.stack)
        self.state.parent.mkdir(parents=True)
        # as the CLI keeps it: the one-shot is an attached container
        self.state.write_text(json.dumps({"version": 3, "checkpoint": {"latest": {"resources": [
            {"type": "docker:index/container:Container", "inputs": {"name": self.prefix + "mc", "attach": True}},
            {"type": "docker:index/container:Container", "inputs": {"name": self.prefix + "kafka-1"}}]}}}))
        self.pulumi = str(stand_in(tmp_path, "pulumi", "#!/bin/sh\nexit 0\n") / "pulumi")
        self.env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                    **({"DOCKER_HOST": os.environ["DOCKER_HOST"]} if os.environ.get("DOCKER_HOST") else {})}
        self.image = f"fhl-test-noop-{self.stack}:1"
        docker("tag", base_image, self.image, check=True)
        self.made: list[str] = []
        self.run("kafka-1", "--health-cmd", "/bin/busybox true", "--health-interval", "1s")
        self.run("mc", command=("/bin/busybox", "true"))
        docker("wait", self.prefix + "mc", check=True)

    def run(self, service: str, *options: str, command=("/bin/busybox", "sleep", "300"), label: bool = True) -> str:
        name = self.prefix + service
        labels = ["--label", f"dev.factorhouse.local={service}",
                  "--label", f"dev.factorhouse.local.stack=factorhouse-local/{self.stack}"] if label else []
        docker("run", "-d", "--name", name, "--network", "none", *labels, *options, self.image, *command, check=True)
        self.made.append(name)
        return name

    def record(self) -> None:
        assert noop.record(self.pulumi, self.stack, self.env, self.project, self.folder, self.inputs())

    def inputs(self) -> str:
        return noop.inputs_digest(self.project, self.stack, self.env, self.pulumi)

    def check(self, **env) -> noop.Verdict:
        return noop.check(self.pulumi, self.stack, {**self.env, **env}, self.project, self.folder)

    def clean(self) -> None:
        docker("rm", "-f", *self.made)
        docker("image", "rm", self.image)


@pytest.fixture
def world(tmp_path, base_image):
    made = World(tmp_path, base_image)
    yield made
    made.clean()


def test_with_nothing_changed_there_is_nothing_to_do(world):
    world.record()
    assert world.check() == noop.Verdict("nothing")
    assert noop.check(world.pulumi, world.stack, world.env, world.project, world.folder).action == "nothing"
    # the record holds what the engine held: both containers, the one-shot as exited 0
    engine = noop.read_record(world.project, world.stack)["engine"]
    assert {n: c["state"] for n, c in engine["containers"].items()} == {
        world.prefix + "kafka-1": "running", world.prefix + "mc": "exited (0)"}
    assert "2 containers" in noop.unchanged_line(world.stack, noop.read_record(world.project, world.stack))


def test_without_a_record_everything_is_read_back(world):
    assert world.check() == noop.Verdict("refresh")
    world.record()
    noop.forget(world.project, world.stack)
    assert world.check() == noop.Verdict("refresh")


def deleted(world):
    docker("rm", "-f", world.prefix + "kafka-1", check=True)
    return "is gone"


def stopped(world):
    docker("stop", "-t", "0", world.prefix + "kafka-1", check=True)
    return "is exited ("


def replaced(world):
    docker("rm", "-f", world.prefix + "kafka-1", check=True)
    world.run("kafka-1", "--health-cmd", "/bin/busybox true", "--health-interval", "1s")
    return "was replaced (another id)"


def updated(world):
    docker("update", "--restart", "on-failure", world.prefix + "kafka-1", check=True)
    return "was changed in place"


def one_shot_removed(world):
    docker("rm", "-f", world.prefix + "mc", check=True)
    return f"container {world.prefix}mc is gone"


def image_untagged(world):
    docker("image", "rm", world.image, check=True)  # the containers keep the image, untagged
    return f"image {world.image} is gone"


def another_container(world):
    world.run("kafka-2")
    return "is not one the last up made"


@pytest.mark.parametrize("change", [deleted, stopped, replaced, updated, one_shot_removed, image_untagged,
                                    another_container])
def test_each_kind_of_drift_on_docker_is_found_and_everything_read_back(world, change):
    world.record()
    said = change(world)
    verdict = world.check()
    assert verdict.action == "refresh" and said in verdict.reason, verdict


def test_an_unhealthy_container_is_drift(world):
    name = world.run("pinot", "--health-cmd", "/bin/busybox false", "--health-interval", "1s",
                     "--health-retries", "1")
    world.record()  # made as "starting": the gate of make up waits, Docker's status lags
    while json.loads(docker("inspect", "--format", "{{json .State.Health.Status}}", name).stdout) != "unhealthy":
        time.sleep(0.5)
    verdict = world.check()
    assert verdict.action == "refresh" and f"container {name} is unhealthy" in verdict.reason


def test_a_service_that_exited_0_is_drift_a_one_shot_that_did_is_not(world):
    # a service that ends cleanly on SIGTERM (exit 0), stopped by hand
    name = world.run("connect", command=("/bin/busybox", "sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"))
    world.record()
    docker("stop", name, check=True)
    assert docker("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip() == "0"
    verdict = world.check()
    assert verdict.action == "refresh" and verdict.reason == f"container {name} is exited (0)"


def test_without_the_state_or_the_engine_nothing_is_recorded(world, tmp_path):
    world.state.unlink()
    assert not noop.record(world.pulumi, world.stack, world.env, world.project, world.folder, world.inputs())
    world.state.write_text("{}")
    assert not noop.record(world.pulumi, world.stack, {**world.env, "DOCKER_HOST": f"unix://{tmp_path}/none.sock"},
                           world.project, world.folder, world.inputs())
    assert noop.read_record(world.project, world.stack) is None


def test_a_container_restarted_in_place_is_not_drift(world):
    # make restart keeps the state true: the same container, stopped and started
    world.record()
    docker("restart", "-t", "0", world.prefix + "kafka-1", check=True)
    assert world.check().action == "nothing"


def test_more_drift_than_one_line_holds_is_counted(world):
    for n in range(4):
        world.run(f"extra-{n}")
    world.record()
    for n in range(4):
        docker("rm", "-f", f"{world.prefix}extra-{n}", check=True)
    docker("rm", "-f", world.prefix + "kafka-1", check=True)
    assert world.check().reason.endswith("; and 2 more")


def stack_setting(world):
    (world.project / f"Pulumi.{world.stack}.yaml").write_text("config:\n  factorhouse-local:profile: lite\n")


def image_tag(world):
    (world.project / f"Pulumi.{world.stack}.yaml").write_text(
        "config:\n  factorhouse-local:images:\n    kpow: factorhouse/kpow:94.3\n")


def resource_file(world):
    (world.project / "resources/kpow/jaas.conf").write_text("jaas, changed\n")


def downloads_manifest(world):
    (world.project / "resources/downloads.yaml").write_text("kafka-connectors: [{name: x}]\n")


def program_code(world):
    (world.project / "stacks/kafka.py").write_text("KAFKA = 2\n")


def new_program_file(world):
    (world.project / "engines").mkdir()
    (world.project / "engines/extra.py").write_text("\n")


def cli_replaced(world):
    time.sleep(0.01)
    Path(world.pulumi).write_text("#!/bin/sh\n# a newer CLI\nexit 0\n")


@pytest.mark.parametrize("change", [stack_setting, image_tag, resource_file, downloads_manifest, program_code,
                                    new_program_file, cli_replaced])
def test_a_changed_input_is_never_skipped(world, change):
    world.record()
    change(world)
    # the engine holds what the last up left: the state is true, the program runs
    assert world.check() == noop.Verdict("up")


def test_a_licence_file_a_setting_names_is_an_input(world, tmp_path):
    licence = tmp_path / "kpow.env"
    licence.write_text("LICENSE_ID=1\n")
    (world.project / f"Pulumi.{world.stack}.yaml").write_text(
        f"config:\n  factorhouse-local:kpowLicenseFile: {licence}\n")
    world.record()
    assert world.check().action == "nothing"
    licence.write_text("LICENSE_ID=2\n")  # a new licence, same place
    assert world.check() == noop.Verdict("up")


def test_the_environment_the_program_and_providers_read_is_an_input(world):
    world.record()
    assert world.check(PATH="/bin:/usr/bin", TERM="dumb").action == "nothing"  # not read by them
    for key, value in (("KUBECONFIG", "/elsewhere"), ("XDG_CACHE_HOME", "/elsewhere"),
                       ("PULUMI_HOME", "/elsewhere"), ("PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY", "false")):
        assert world.check(**{key: value}) == noop.Verdict("up"), key


def test_follow_latest_always_runs_the_program(world):
    (world.project / f"Pulumi.{world.stack}.yaml").write_text("config:\n  factorhouse-local:followLatest: true\n")
    world.record()
    assert world.check() == noop.Verdict("up", "followLatest: the registry may hold a newer image")


def test_follow_latest_as_the_program_reads_it_in_any_case_runs_the_program(world):
    # `pulumi config set followLatest True` stores the string "True", which the program
    # reads as true (settings/config.py): a newer `latest` is never skipped
    (world.project / f"Pulumi.{world.stack}.yaml").write_text("config:\n  factorhouse-local:followLatest: 'True'\n")
    world.record()
    assert world.check().action == "up"


def test_a_state_changed_by_hand_is_read_back(world):
    world.record()
    world.state.write_text(world.state.read_text() + " ")  # a pulumi refresh, destroy or import run by hand
    verdict = world.check()
    assert verdict.action == "refresh" and "state changed" in verdict.reason


@pytest.mark.parametrize("leftover", [".pulumi/locks/organization/factorhouse-local/{stack}/x.json",
                                      ".pulumi/journal/factorhouse-local/{stack}/1.json"])
def test_a_lock_or_journal_of_another_run_is_left_to_a_real_run(world, leftover):
    world.record()
    path = world.folder / leftover.format(stack=world.stack)
    path.parent.mkdir(parents=True)
    path.write_text("{}")
    assert world.check().action == "refresh"


def test_an_engine_that_does_not_answer_is_left_to_a_real_run(world, tmp_path):
    world.record()
    verdict = world.check(DOCKER_HOST=f"unix://{tmp_path}/none.sock")
    assert verdict == noop.Verdict("refresh", "the engine did not answer")


def test_the_record_holds_no_setting_or_secret(world):
    world.run("postgres", "--env", "POSTGRES_PASSWORD=hunter2-secret")
    (world.project / f"Pulumi.{world.stack}.yaml").write_text(
        "config:\n  factorhouse-local:minioPassword: another-secret\n")
    world.record()
    text = noop.record_path(world.project, world.stack).read_text()
    assert "hunter2-secret" not in text and "another-secret" not in text
    assert noop.record_path(world.project, world.stack) == world.project / ".work" / world.stack / "last-up.json"


def test_on_another_backend_the_state_is_its_export(tmp_path):
    export = tmp_path / "export.json"
    export.write_text('{"version": 3, "deployment": {"resources": []}}')
    bin_dir = stand_in(tmp_path, "pulumi", f'#!/bin/sh\n[ "$1 $2" = "stack export" ] && cat {export}\n')
    pulumi = str(bin_dir / "pulumi")
    first = noop.state_digest(pulumi, "dev", {"PATH": "/usr/bin:/bin"}, tmp_path, None)
    assert first and first == noop.state_digest(pulumi, "dev", {"PATH": "/usr/bin:/bin"}, tmp_path, None)
    export.write_text('{"version": 3, "deployment": {"resources": [{"urn": "x"}]}}')
    assert noop.state_digest(pulumi, "dev", {"PATH": "/usr/bin:/bin"}, tmp_path, None) != first


# -- Kubernetes: a listing of the namespace ------------------------------------------------

def k8s_object(kind: str, name: str, uid: str = "u1", generation: int = 1, version: str = "100", **status) -> dict:
    return {"kind": kind, "metadata": {"name": name, "uid": uid, "generation": generation, "resourceVersion": version},
            "spec": {"replicas": 1} if kind == "Deployment" else {}, "status": status}


@pytest.fixture
def cluster(tmp_path):
    """A stack on engine kubernetes whose namespace a stand-in kubectl lists from a file."""
    project = project_copy(tmp_path)
    (project / "Pulumi.k.yaml").write_text("config:\n  factorhouse-local:engine: kubernetes\n")
    state = project / STATE.format(stack="k")
    state.parent.mkdir(parents=True)
    state.write_text("{}")
    listing = tmp_path / "objects.json"
    bin_dir = stand_in(tmp_path, "kubectl", f'#!/bin/sh\necho "$*" >> {tmp_path}/kubectl-calls\ncat {listing}\n')
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    objects = {"kafka-1": k8s_object("Deployment", "kafka-1", readyReplicas=1),
               "mc": k8s_object("Job", "mc", succeeded=1),
               "svc": k8s_object("Service", "kafka-1"), "cm": k8s_object("ConfigMap", "kafka-1-files"),
               "pvc": k8s_object("PersistentVolumeClaim", "kafka-1-data")}

    def show(**changed) -> None:
        items = {**objects, **changed}
        listing.write_text(json.dumps({"items": [item for item in items.values() if item is not None]}))

    def check() -> noop.Verdict:
        return noop.check("pulumi", "k", env, project, project / ".pulumi-state")

    show()
    assert noop.record("pulumi", "k", env, project, project / ".pulumi-state",
                       noop.inputs_digest(project, "k", env, "pulumi"))
    return show, check, tmp_path


@pytest.mark.parametrize("changed, said", [
    ({"kafka-1": None}, "deployment/kafka-1 is gone"),
    ({"kafka-1": k8s_object("Deployment", "kafka-1", uid="u2", readyReplicas=1)},
     "deployment/kafka-1 was made again"),
    ({"kafka-1": k8s_object("Deployment", "kafka-1", generation=2, readyReplicas=1)},
     "deployment/kafka-1 was changed by hand"),
    ({"kafka-1": k8s_object("Deployment", "kafka-1", readyReplicas=0)}, "deployment/kafka-1 is not ready"),
    ({"mc": None}, "job/mc is gone"),
    ({"mc": k8s_object("Job", "mc", failed=1)}, "job/mc is not ready"),
    ({"cm": k8s_object("ConfigMap", "kafka-1-files", version="101")}, "configmap/kafka-1-files was changed by hand"),
    ({"pvc": None}, "persistentvolumeclaim/kafka-1-data is gone"),
])
def test_each_kind_of_drift_on_kubernetes_is_found(cluster, changed, said):
    show, check, _ = cluster
    assert check() == noop.Verdict("nothing")
    show(**changed)
    verdict = check()
    assert verdict.action == "refresh" and said in verdict.reason, verdict


def test_a_deployments_status_and_its_pods_coming_and_going_are_not_drift(cluster):
    show, check, tmp_path = cluster
    # a new pod of the same Deployment (deleted by hand, or restarted): its status moves
    show(**{"kafka-1": k8s_object("Deployment", "kafka-1", version="250", readyReplicas=1)})
    assert check() == noop.Verdict("nothing")
    calls = (tmp_path / "kubectl-calls").read_text().splitlines()
    assert calls[-1] == ("--namespace factorhouse-k get deployment,job,service,configmap,secret,networkpolicy,"
                         "persistentvolumeclaim --selector app.kubernetes.io/part-of=factorhouse-local --output json")


def test_on_kubernetes_the_kubeconfig_is_an_input(cluster):
    show, check, tmp_path = cluster
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "config").write_text("clusters: []\n")
    assert check() == noop.Verdict("up")


# -- make up (commands/stack.py) with a stand-in pulumi -------------------------------------

FAKE_PULUMI = r"""#!/bin/sh
echo "$*" >> "$CALLS"
case "$1" in
  up) [ -n "$UP_EXIT" ] && exit "$UP_EXIT"
      mkdir -p "$STATE_DIR" && echo "{\"version\": 3, \"at\": $(date +%s%N)}" > "$STATE_DIR/$STACK_NAME.json" ;;
esac
exit 0
"""


@pytest.fixture
def make_up(tmp_path):
    need(engine_problem(), "a Docker engine")
    project = project_copy(tmp_path)
    name = f"t{uuid.uuid4().hex[:8]}"
    bin_dir = stand_in(tmp_path, "pulumi", FAKE_PULUMI)
    calls = tmp_path / "calls"
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "CALLS": str(calls),
           "PULUMI_CONFIG_PASSPHRASE": "test", "STACK_NAME": name,
           "STATE_DIR": str(project / ".pulumi-state/.pulumi/stacks/factorhouse-local"),
           **({"DOCKER_HOST": os.environ["DOCKER_HOST"]} if os.environ.get("DOCKER_HOST") else {})}

    asked: list[str] = []

    def up(*args: str, interactive: bool = False, **more) -> tuple[int, list[str]]:
        calls.unlink(missing_ok=True)
        code = stack.main(["up", "--stack", name, "--project-dir", str(project), *args],
                          env={k: v for k, v in {**env, **more}.items() if v is not None},
                          interactive=interactive, read_secret=lambda prompt: asked.append(prompt) or "asked")
        return code, calls.read_text().splitlines() if calls.exists() else []

    up.asked = asked
    return up, project, name


def test_make_up_with_nothing_to_do_runs_no_pulumi_and_says_so_in_one_line(make_up, capsys):
    up, project, name = make_up
    code, made = up()
    assert code == 0 and made[-1] == f"up --stack {name} --refresh --yes --skip-preview"
    assert noop.read_record(project, name) is not None
    capsys.readouterr()
    code, made = up()
    assert code == 0 and made == []
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith(f"Nothing to do on stack {name}:") and "REFRESH=1" in out[0]
    # on a terminal too, without asking the passphrase: nothing needs it
    (project / f"Pulumi.{name}.yaml").write_text("encryptionsalt: v1:salt\n")
    code, made = up(interactive=True, PULUMI_CONFIG_PASSPHRASE=None)
    assert code == 0 and made[-1] == f"up --stack {name}"  # the stack file changed: the program runs
    assert up.asked == [f"Passphrase of stack {name}'s secrets: "]
    code, made = up(interactive=True, PULUMI_CONFIG_PASSPHRASE=None)
    assert code == 0 and made == [] and len(up.asked) == 1


def test_make_up_after_a_change_updates_without_reading_everything_back(make_up):
    up, project, name = make_up
    up()
    (project / f"Pulumi.{name}.yaml").write_text("config:\n  factorhouse-local:profile: lite\n")
    code, made = up()
    assert code == 0 and made[-1] == f"up --stack {name} --yes --skip-preview"
    code, made = up()
    assert code == 0 and made == []  # recorded again


def test_make_up_on_a_terminal_shows_the_changes_and_asks_first(make_up):
    up, project, name = make_up
    code, made = up(interactive=True)
    assert code == 0 and made[-1] == f"up --stack {name} --refresh"  # no --yes, no --skip-preview


def test_refresh_reads_everything_back_even_with_nothing_to_do(make_up):
    up, project, name = make_up
    up()
    code, made = up("--refresh")
    assert code == 0 and made[-1] == f"up --stack {name} --refresh --yes --skip-preview"


def test_a_failed_up_leaves_no_record(make_up):
    up, project, name = make_up
    up()
    (project / f"Pulumi.{name}.yaml").write_text("config:\n  factorhouse-local:profile: lite\n")
    code, _ = up(UP_EXIT="3")
    assert code == 3 and noop.read_record(project, name) is None
    code, made = up()
    assert code == 0 and f"up --stack {name} --refresh --yes --skip-preview" in made
