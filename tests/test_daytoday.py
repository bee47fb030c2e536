"""`make ps`, `make logs`, `make restart` and `make shell` (commands/daytoday.py,
commands/workloads.py): on a real Docker engine with containers of the tests' own,
labelled as engines/docker.py labels them, the stack's outputs served by a stand-in
`pulumi`; on Kubernetes, the kubectl commands they run (a stand-in kubectl), for the
outputs the program itself exports."""

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from engine import docker
from harness import PROJECT_DIR, project_copy, run_program, stand_in

from commands import daytoday, workloads

FAKE_PULUMI = '#!/bin/sh\ncase "$1 $2" in "stack output") cat "$OUTPUTS" ;; *) exit 1 ;; esac\n'


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Stack:
    """A stack of the tests' own: its outputs, its project folder and its containers."""

    def __init__(self, tmp_path: Path, base_image: str):
        self.base = base_image
        self.name = f"t{uuid.uuid4().hex[:8]}"
        self.prefix = f"fhl-test-{self.name}-"
        self.project = project_copy(tmp_path)
        self.bin = stand_in(tmp_path, "pulumi", FAKE_PULUMI)
        self.outputs_file = tmp_path / "outputs.json"
        self.env = {**os.environ, "PATH": f"{self.bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
                    "OUTPUTS": str(self.outputs_file), "PYTHONDONTWRITEBYTECODE": "1"}
        self.port = free_port()
        self.made: list[tuple[str, str]] = []
        engine_id = docker("info", "--format", "{{.ID}}", check=True).stdout.strip()
        self.outputs = {
            "stacks": ["kpow", "analytics"],
            "webUrl": f"http://127.0.0.1:{self.port}",
            "engine": {"kind": "docker", "id": engine_id, "address": "unix:///var/run/docker.sock"},
            "services": {
                "web": self.service("kpow", "web", addresses=[f"127.0.0.1:{self.port}"]),
                "ghost": self.service("kpow", "ghost"),  # the stack runs it; it is gone
                "job": self.service("analytics", "job", one_shot=True),
                "failing": self.service("analytics", "failing", one_shot=True),
            }}
        self.write_outputs()

    def service(self, stack: str, name: str, one_shot: bool = False, addresses=()) -> dict:
        return {"stack": stack, "workload": self.prefix + name, "oneShot": one_shot, "addresses": list(addresses)}

    def write_outputs(self) -> None:
        self.outputs_file.write_text(json.dumps(self.outputs))

    def labels(self, service: str, stack: str | None = None) -> list[str]:
        return ["--label", f"dev.factorhouse.local={service}",
                "--label", f"dev.factorhouse.local.stack=factorhouse-local/{stack or self.name}"]

    def run(self, service: str, script: str, *options: str, name: str | None = None, stack: str | None = None,
            detach: bool = True) -> str:
        full = name or self.prefix + service
        docker("run", *(["--detach"] if detach else []), "--name", full, *self.labels(service, stack), *options,
               self.base, "/bin/sh", "-c", script, check=True)
        self.made.append(("container", full))
        return full

    def volume(self, name: str) -> str:
        full = self.prefix + name
        docker("volume", "create", "--label", "dev.factorhouse.local=data", full, check=True)
        self.made.append(("volume", full))
        return full

    def main(self, *args: str, env: dict | None = None) -> tuple[int, list[str]]:
        said: list[str] = []
        code = daytoday.main([*args, "--stack", self.name, "--project-dir", str(self.project)], env=env or self.env,
                             interactive=False, say=said.append)
        return code, said

    def clean(self) -> None:
        for kind, name in reversed(self.made):
            docker("rm", "-f", name) if kind == "container" else docker("volume", "rm", "-f", name)


# a service as the program runs one: labelled, a data volume, a published port on
# loopback, a restart policy and a health check; it says hello, counts its starts in
# its volume and stops at once on SIGTERM (as a service should)
WEB = ('echo "web says hello"; echo start >> /data/starts; touch /tmp/ready; '
       'trap "exit 0" TERM; sleep 3600 & wait')


@pytest.fixture(scope="module")
def stack(tmp_path_factory, base_image):
    made = Stack(tmp_path_factory.mktemp("daytoday"), base_image)
    data = made.volume("data")
    made.run("web", WEB, "--volume", f"{data}:/data", "--publish", f"127.0.0.1:{made.port}:80",
             "--restart", "unless-stopped", "--health-cmd", "test -f /tmp/ready", "--health-interval", "1s",
             "--health-retries", "3")
    made.run("job", "echo job done", detach=False)
    subprocess.run(["docker", "run", "--name", made.prefix + "failing", *made.labels("failing"), made.base,
                    "/bin/sh", "-c", "echo cannot; exit 2"], capture_output=True)
    made.made.append(("container", made.prefix + "failing"))
    # another stack's container for the same service, stopped: never ours
    made.run("web", "true", name=f"fhl-test-{made.name}x-web", stack=f"{made.name}x", detach=False)
    # healthy by Docker's own check before the tests look (`make ps` shows Docker's status,
    # which the health gate does not wait for: it runs the check itself)
    docker_says(made.prefix + "web", "healthy")
    yield made
    made.clean()


def inspect(name: str) -> dict:
    return json.loads(docker("inspect", name, check=True).stdout)[0]


def docker_says(name: str, health: str, polls: int = 300) -> None:
    """Until Docker's own status of the container is `health`: asked every 0.2 s, at most
    `polls` times (a bound on the wait for Docker's next check, not a claim of speed)."""
    for _ in range(polls):
        if inspect(name)["State"]["Health"]["Status"] == health:
            return
        time.sleep(0.2)
    pytest.fail(f"{name} never became {health} by Docker's own check")


def provider_reads(name: str) -> dict:
    """What the docker provider reads back from a container when it refreshes it (its
    Read: the id and name, whether it runs, its published ports, image, configuration,
    host configuration and mounts), which decides whether a preview shows a change."""
    info = inspect(name)
    return {"Id": info["Id"], "Name": info["Name"], "Running": info["State"]["Running"], "Image": info["Image"],
            "Config": info["Config"], "HostConfig": info["HostConfig"], "Mounts": info["Mounts"],
            "Ports": info["NetworkSettings"]["Ports"], "Platform": info.get("Platform")}


def test_ps_lists_every_service_with_state_health_restarts_and_address_and_marks_what_is_wrong(stack):
    code, said = stack.main("ps")
    assert code == 0
    rows = {line[2:].split()[0]: line for line in said[1:-1]}
    assert said[0].split() == ["SERVICE", "STACK", "STATE", "HEALTH", "RESTARTS", "ADDRESS"]
    # in the order of the stacks, then by name
    assert list(rows) == ["ghost", "web", "failing", "job"]
    assert rows["web"].split() == ["web", "kpow", "running", "healthy", "0", f"http://127.0.0.1:{stack.port}"]
    assert rows["job"].split() == ["job", "analytics", "completed", "-", "-", "-"]
    assert rows["failing"].split() == ["!", "failing", "analytics", "failed", "(exit", "2)", "-", "-", "-"]
    assert rows["ghost"].split() == ["!", "ghost", "kpow", "missing", "-", "-", "-"]
    assert said[-1] == ("2 of 4 services are not as the stack says: ghost (missing); failing (failed (exit 2)). "
                        "`make logs S=NAME` shows why; `make up` makes ghost, failing again.")


@pytest.fixture
def starting(tmp_path, base_image):
    """A stack right after `make up`: two services whose health check Docker runs next only
    in 5 minutes (its status stays `starting`); one's check passes now, the other's not yet."""
    made = Stack(tmp_path, base_image)
    made.outputs["services"] = {name: made.service("kpow", name) for name in ("ready", "slow")}
    made.write_outputs()
    check = ("--health-cmd", "test -f /tmp/ready", "--health-interval", "300s", "--health-start-period", "300s")
    try:
        made.run("ready", "touch /tmp/ready; sleep 3600", *check)
        made.run("slow", "sleep 3600", *check)
        yield made
    finally:
        made.clean()


def test_ps_tells_a_service_docker_has_not_checked_again_yet_from_one_still_starting(starting):
    assert inspect(starting.prefix + "ready")["State"]["Health"]["Status"] == "starting"
    code, said = starting.main("ps")
    assert code == 0
    rows = {line[2:].split()[0]: line for line in said[1:-1]}
    assert not rows["ready"].startswith("!")
    assert rows["ready"].split() == ["ready", "kpow", "running", *workloads.LAGGING.split(), "0", "-"]
    assert rows["slow"].split()[:5] == ["!", "slow", "kpow", "running", "starting"]
    # `make up` would change nothing here: it is not offered
    assert said[-1] == ("1 of 2 services are not as the stack says: slow (running, starting) (ready: its own health "
                        "check passed just now; Docker's status says `starting` until its next check). "
                        "`make logs S=NAME` shows why; slow still starts (its own check does not pass yet): "
                        "`make ps` again in a moment.")
    # its check passes: healthy by the check `make up` waited for, before Docker's next one
    docker("exec", starting.prefix + "slow", "/bin/sh", "-c", "touch /tmp/ready", check=True)
    code, said = starting.main("ps")
    assert inspect(starting.prefix + "slow")["State"]["Health"]["Status"] == "starting"
    assert said[-1] == ("all 2 services run as the stack says (ready, slow: each own health check passed just now; "
                        "Docker's status says `starting` until its next check).")
    # stopped: what `make up` puts right, and only that, is sent to `make up`
    docker("stop", "-t", "0", starting.prefix + "slow", check=True)
    code, said = starting.main("ps")
    assert said[-1].endswith("`make logs S=NAME` shows why; `make up` makes slow again.")


def test_logs_show_what_the_container_printed(stack, capfd):
    code, _ = stack.main("logs", "--service", "web")
    assert code == 0
    assert "web says hello" in capfd.readouterr().out
    # by the name the engine gives it too
    assert stack.main("logs", "--service", stack.prefix + "job")[0] == 0
    assert "job done" in capfd.readouterr().out


def test_restart_keeps_the_container_its_data_and_what_the_provider_reads(stack, capfd):
    web = stack.prefix + "web"
    before = provider_reads(web)
    started = inspect(web)["State"]["StartedAt"]
    starts = docker("exec", web, "/bin/busybox", "cat", "/data/starts", check=True).stdout.split()
    docker("exec", web, "/bin/sh", "-c", "echo kept > /tmp/own-file", check=True)
    code, said = stack.main("restart", "--service", "web")
    assert code == 0, capfd.readouterr()
    assert said == ["web restarted on the same data and configuration; the stack's state is unchanged"]
    # waited for by its own health check (Docker starts it again as "starting")
    assert f"{web} is healthy" in capfd.readouterr().out
    after = inspect(web)
    assert after["State"]["StartedAt"] != started  # it did restart
    # the same container: its id, configuration, ports and mounts, running: the
    # provider's refresh finds nothing changed, so the next preview shows no change
    assert provider_reads(web) == before
    # its data volume and its own files kept
    assert docker("exec", web, "/bin/busybox", "cat", "/data/starts", "/tmp/own-file", check=True).stdout.split() == \
        [*starts, "start", "kept"]
    # Docker's own status follows at its next check (1 s here; ps shows it until then)
    docker_says(web, "healthy")
    code, said = stack.main("ps")
    assert [line.split()[:5] for line in said if line[2:].startswith("web ")] == \
        [["web", "kpow", "running", "healthy", "0"]]


def test_an_unknown_name_fails_in_one_line_naming_the_services_that_run(stack, capsys):
    assert stack.main("logs", "--service", "kafka-9")[0] == 2
    assert capsys.readouterr().err == (f"no service 'kafka-9' runs in stack {stack.name}; the services that do: "
                                       "ghost, web, failing, job\n")
    assert stack.main("restart")[0] == 2
    assert capsys.readouterr().err == (f"name a service: `make restart S=NAME`; stack {stack.name} runs ghost, web, "
                                       "failing, job\n")


def test_what_cannot_be_restarted_or_entered_says_why_in_one_line(stack, capsys):
    assert stack.main("restart", "--service", "ghost")[0] == 2
    assert capsys.readouterr().err == f"ghost is missing from stack {stack.name}'s engine: `make up` makes it\n"
    assert stack.main("restart", "--service", "job")[0] == 2
    assert capsys.readouterr().err.startswith("job is a one-shot (completed): it runs once per `make up`")
    assert stack.main("shell", "--service", "failing")[0] == 2
    assert capsys.readouterr().err == "failing is not running (failed (exit 2)): there is nothing to open a shell in\n"


def test_shell_opens_the_images_shell_inside_the_container(stack):
    web = stack.prefix + "web"
    result = subprocess.run([sys.executable, str(PROJECT_DIR / "commands" / "daytoday.py"), "shell", "--service", "web",
                             "--stack", stack.name, "--project-dir", str(stack.project)],
                            input="hostname; echo inside; exit\n", capture_output=True, text=True, env=stack.env,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [inspect(web)["Config"]["Hostname"], "inside"]


def test_a_stack_on_another_engine_or_none_says_so_in_one_line(stack, capsys):
    try:
        stack.outputs_file.write_text(json.dumps({**stack.outputs, "engine": {
            **stack.outputs["engine"], "id": "ANOTHER:ENGINE"}}))
        assert stack.main("ps")[0] == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "but the stack runs on engine ANOTHER:ENGINE" in err
        stack.outputs_file.write_text("{}")  # never up
        assert stack.main("ps")[0] == 2
        assert capsys.readouterr().err == f"stack {stack.name} runs no services that it knows of: " \
                                          f"`make up STACK={stack.name}` first\n"
    finally:
        stack.write_outputs()


# -- what goes wrong, on Docker ---------------------------------------------------------

# a service that runs, with a health check of its own; on SIGTERM it is no longer ready
# and stops; `once`: it cannot start a second time on its data (a service that breaks on
# a restart), exiting 1 before it is ready
SERVICE = ('{once}touch /tmp/ready; trap "rm -f /tmp/ready; exit 0" TERM; sleep 3600 & wait')
ONCE = ('if test -f /data/started; then echo "cannot start twice on this data" >&2; exit 1; fi; '
        'touch /data/started; ')


@pytest.fixture
def troubled(tmp_path, base_image):
    """A stack of three services: `web` healthy, `sick` running but its check fails,
    `fragile` healthy until it is restarted."""
    made = Stack(tmp_path, base_image)
    made.outputs["services"] = {name: made.service("kpow", name) for name in ("web", "sick", "fragile")}
    made.write_outputs()
    check = ("--health-cmd", "test -f /tmp/ready", "--health-interval", "1s", "--health-retries", "1")
    made.run("web", SERVICE.format(once=""), *check)
    made.run("sick", SERVICE.format(once=""), "--health-cmd", "echo not ready; exit 1", "--health-interval", "1s",
             "--health-retries", "1")
    made.run("fragile", SERVICE.format(once=ONCE), "--volume", f"{made.volume('fragile-data')}:/data", *check)
    for name, health in (("web", "healthy"), ("sick", "unhealthy"), ("fragile", "healthy")):
        docker_says(made.prefix + name, health)
    yield made
    made.clean()


def test_ps_marks_a_service_that_runs_but_is_unhealthy_and_names_it(troubled):
    code, said = troubled.main("ps")
    assert code == 0
    rows = {line[2:].split()[0]: line.split() for line in said[1:-1]}
    assert rows["web"] == ["web", "kpow", "running", "healthy", "0", "-"]
    assert rows["sick"] == ["!", "sick", "kpow", "running", "unhealthy", "0", "-"]
    # an unhealthy service is not what `make up` puts right: its log says why
    assert said[-1] == "1 of 3 services are not as the stack says: sick (running, unhealthy). `make logs S=NAME` shows why."


def test_a_restart_after_which_the_service_never_becomes_healthy_fails_and_does_not_say_restarted(troubled, capfd):
    code, said = troubled.main("restart", "--service", "fragile")
    assert code == 1 and said == []
    out, err = capfd.readouterr()
    # the health gate's own line: the container stopped before its check passed
    assert f"{troubled.prefix}fragile stopped (exit code 1) before it became healthy" in out + err
    assert inspect(troubled.prefix + "fragile")["State"]["Status"] == "exited"


def test_an_engine_that_does_not_answer_is_one_line(troubled, capsys):
    (troubled.project / f"Pulumi.{troubled.name}.yaml").write_text(
        f"config:\n  factorhouse-local:dockerHost: unix:///tmp/fhl-no-engine-{troubled.name}.sock\n")
    for command in (["ps"], ["logs", "--service", "web"], ["restart", "--service", "web"], ["shell", "--service", "web"]):
        assert troubled.main(*command)[0] == 2, command
        [line] = capsys.readouterr().err.splitlines()
        assert line.startswith(f"the Docker engine at unix:///tmp/fhl-no-engine-{troubled.name}.sock does not answer (")
        assert line.endswith("); start it, or point dockerHost at the stack's engine")


def test_a_docker_that_fails_to_list_the_containers_is_not_taken_for_every_service_missing(troubled, tmp_path,
                                                                                          capsys):
    real = subprocess.run(["sh", "-c", "command -v docker"], capture_output=True, text=True).stdout.strip()
    (tmp_path / "failing").mkdir()
    bin_dir = stand_in(tmp_path / "failing", "docker", f'#!/bin/sh\n[ "$1" = ps ] && {{ echo "Error response from '
                                                      f'daemon: the engine is shutting down" >&2; exit 1; }}\n'
                                                      f'exec {real} "$@"\n')
    env = {**troubled.env, "PATH": f"{bin_dir}:{troubled.env['PATH']}"}
    code, said = troubled.main("ps", env=env)
    assert code == 2 and said == []
    assert capsys.readouterr().err == ("docker could not list the stack's containers (Error response from daemon: "
                                       "the engine is shutting down)\n")


def test_without_the_docker_or_pulumi_command_it_says_so_in_one_line(troubled, tmp_path, capsys):
    tools = tmp_path / "tools"  # what the stand-in pulumi needs, and no docker
    tools.mkdir()
    (tools / "cat").symlink_to(subprocess.run(["sh", "-c", "command -v cat"], capture_output=True,
                                              text=True).stdout.strip())
    no_docker = {**troubled.env, "PATH": f"{troubled.bin}:{tools}"}
    assert troubled.main("logs", "--service", "web", env=no_docker)[0] == 2
    assert capsys.readouterr().err == "docker is not installed (or not on PATH): install it to reach the stack's engine\n"
    no_pulumi = {**troubled.env, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    assert troubled.main("ps", env=no_pulumi)[0] == 2
    assert capsys.readouterr().err == "the Pulumi CLI is not installed: `make up` installs it\n"


def test_logs_of_a_service_that_is_gone_fail_with_the_engines_line(stack, capfd):
    code, _ = stack.main("logs", "--service", "ghost")
    assert code != 0
    assert f"No such container: {stack.prefix}ghost" in capfd.readouterr().err


# -- Kubernetes: the commands, for the program's own outputs ---------------------------

# every call fails with $FAILS when set (a cluster that does not answer); `rollout
# restart` with $RESTART_FAILS, `rollout status` with $STATUS_FAILS
FAKE_KUBECTL = r"""#!/bin/sh
echo "kubectl $*" >> "$CALLS"
[ -n "${FAILS:-}" ] && { echo "$FAILS" >&2; exit 1; }
case "$*" in
  *" rollout restart "*) [ -n "${RESTART_FAILS:-}" ] && { echo "$RESTART_FAILS" >&2; exit 1; } ;;
  *" rollout status "*) [ -n "${STATUS_FAILS:-}" ] && { echo "$STATUS_FAILS" >&2; exit 1; } ;;
  *" get pods "*) cat "$PODS" ;;
  *" logs "*) echo "a line of its log" ;;
esac
exit 0
"""


def pod(service: str, phase: str = "Running", ready: bool = True, probe: bool = True, restarts: int = 0,
        created: str = "2026-01-01T00:00:00Z", waiting: str | None = None, terminating: bool = False,
        exit_code: int | None = None) -> dict:
    state = {"waiting": {"reason": waiting}} if waiting else \
        {"terminated": {"exitCode": exit_code}} if exit_code is not None else {"running": {}}
    return {"metadata": {"name": f"{service}-{created[-9:-7]}", "creationTimestamp": created,
                         "labels": {"app.kubernetes.io/name": service},
                         **({"deletionTimestamp": "2026-01-01T01:00:00Z"} if terminating else {})},
            "spec": {"containers": [{"name": service, **({"readinessProbe": {"exec": {}}} if probe else {})}]},
            "status": {"phase": phase, "containerStatuses": [{"ready": ready, "restartCount": restarts,
                                                              "state": state}]}}


@pytest.fixture(scope="module")
def k8s_outputs():
    run = run_program({"engine": "kubernetes", "stacks": json.dumps(["kpow", "analytics"]),
                       "minioPassword": "minio-on-k8s", "postgresPassword": "pg-on-k8s"})
    return json.loads(json.dumps(run.outputs))


@pytest.fixture
def cluster(tmp_path, k8s_outputs):
    bin_dir = stand_in(tmp_path, "pulumi", FAKE_PULUMI)
    stand_in(tmp_path, "kubectl", FAKE_KUBECTL)
    (tmp_path / "outputs.json").write_text(json.dumps(k8s_outputs))
    pods = {"items": [pod(s) for s in k8s_outputs["services"] if s not in ("mc", "connect", "kpow", "kafka-3")] + [
        pod("connect", waiting="CrashLoopBackOff", ready=False, restarts=5),
        pod("mc", phase="Succeeded", probe=False, exit_code=0),
        # a restart under way: the old pod terminating, the new one starting
        pod("kpow", terminating=True), pod("kpow", ready=False, created="2026-01-01T00:30:00Z")]}
    (tmp_path / "pods.json").write_text(json.dumps(pods))
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "OUTPUTS": str(tmp_path / "outputs.json"),
           "PODS": str(tmp_path / "pods.json"), "CALLS": str(tmp_path / "calls"), "HOME": str(tmp_path)}
    project = project_copy(tmp_path)

    def main(*args: str, **failing: str) -> tuple[int, list[str], list[str]]:
        said: list[str] = []
        code = daytoday.main([*args, "--project-dir", str(project)], env={**env, **failing}, interactive=False,
                             say=said.append)
        calls = (tmp_path / "calls").read_text().splitlines() if (tmp_path / "calls").exists() else []
        (tmp_path / "calls").unlink(missing_ok=True)
        return code, said, calls

    return main


KUBECTL = "kubectl --context kind-current --namespace factorhouse-dev"  # the context up ran on, the stack's namespace


def test_ps_on_kubernetes_reads_the_stacks_pods_by_their_labels(cluster):
    code, said, calls = cluster("ps")
    assert code == 0
    assert calls == [f"{KUBECTL} get pods --selector app.kubernetes.io/part-of=factorhouse-local --output json"]
    rows = {line[2:].split()[0]: line for line in said[1:-1]}
    assert rows["kafka-1"].split() == ["kafka-1", "kpow", "running", "healthy", "0", "127.0.0.1:9092"]
    assert rows["connect"].split() == ["!", "connect", "kpow", "CrashLoopBackOff", "not", "ready", "5",
                                       "http://127.0.0.1:8083"]
    assert rows["mc"].split() == ["mc", "analytics", "completed", "-", "-", "-"]
    # the new pod stands for it, not the one going away
    assert rows["kpow"].split()[:5] == ["!", "kpow", "kpow", "running", "not"]
    assert rows["kafka-3"].split()[:4] == ["!", "kafka-3", "kpow", "missing"]
    assert said[-1].startswith("3 of 12 services are not as the stack says: connect (CrashLoopBackOff, not ready); "
                               "kafka-3 (missing); kpow (running, not ready).")
    assert said[-1].endswith("(addresses: through `make forward`).")


def test_logs_restart_and_shell_on_kubernetes_run_kubectl_on_the_stacks_context_and_namespace(cluster):
    assert cluster("logs", "--service", "kafka-1", "--follow")[2] == \
        [f"{KUBECTL} logs deployment/kafka-1 --tail 100 --follow"]
    assert cluster("logs", "--service", "mc")[2] == [f"{KUBECTL} logs job/mc --tail 100"]
    code, said, calls = cluster("restart", "--service", "schema")
    assert code == 0 and calls[1:] == [f"{KUBECTL} rollout restart deployment/schema",
                                       f"{KUBECTL} rollout status deployment/schema --timeout=1200s"]
    assert said == ["schema restarted on the same data and configuration; the stack's state is unchanged"]
    code, _, calls = cluster("shell", "--service", "minio")
    assert code == 0 and calls[-1] == (f"{KUBECTL} exec --stdin deployment/minio -- /bin/sh -c if command -v bash "
                                       ">/dev/null 2>&1; then exec bash; fi; exec sh")


def test_on_kubernetes_a_one_shot_is_not_restarted_and_an_unknown_name_is_named(cluster, capsys):
    code, _, calls = cluster("restart", "--service", "mc")
    assert code == 2 and not any("rollout" in c for c in calls)
    assert capsys.readouterr().err.startswith("mc is a one-shot (completed)")
    assert cluster("shell", "--service", "pinot-broker")[0] == 2  # a stack this one does not run
    err = capsys.readouterr().err
    assert err.startswith("no service 'pinot-broker' runs in stack dev; the services that do: connect, kafka-1, ")
    assert err.count("\n") == 1


@pytest.mark.parametrize("failing, cause", [
    ("RESTART_FAILS", 'Error from server (Forbidden): deployments.apps "schema" is forbidden: User "alice" cannot '
                      'patch resource "deployments" in API group "apps" in the namespace "factorhouse-dev"'),
    ("STATUS_FAILS", 'error: deployment "schema" exceeded its progress deadline'),
], ids=["the-restart-fails", "the-new-pod-never-becomes-ready"])
def test_on_kubernetes_a_restart_that_fails_or_never_becomes_ready_fails_and_does_not_say_restarted(
        cluster, capfd, failing, cause):
    code, said, calls = cluster("restart", "--service", "schema", **{failing: cause})
    assert code == 1 and said == []
    assert cause in capfd.readouterr().err
    if failing == "RESTART_FAILS":  # not waited for: nothing was restarted
        assert not any("rollout status" in call for call in calls)


def test_on_kubernetes_a_cluster_that_does_not_answer_is_one_line(cluster, capsys):
    refused = "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?"
    code, said, _ = cluster("ps", FAILS=refused)
    assert code == 2 and said == []
    assert capsys.readouterr().err == (f"kubectl could not list the pods of namespace factorhouse-dev on context "
                                       f"kind-current ({refused})\n")
    for command in (["restart", "--service", "schema"], ["shell", "--service", "minio"]):
        assert cluster(*command, FAILS=refused)[0] == 2, command
        assert capsys.readouterr().err.count("\n") == 1


def test_the_services_come_from_the_programs_own_output_in_stack_order():
    run = run_program()
    services = daytoday.wanted_services(json.loads(json.dumps(run.outputs)))
    assert [s.name for s in services] == ["connect", "kafka-1", "kafka-2", "kafka-3", "kpow", "schema", "zookeeper",
                                          "flex", "jobmanager", "sql-gateway", "taskmanager-1", "taskmanager-2",
                                          "taskmanager-3", "mc", "minio", "postgres", "rest", "spark-iceberg",
                                          "pinot-broker", "pinot-controller", "pinot-server"]
    by_name = {s.name: s for s in services}
    assert by_name["kpow"].workload == "kpow-ee" and by_name["mc"].one_shot
    assert [daytoday.client_address(a, run.outputs) for a in by_name["spark-iceberg"].addresses] == \
        ["http://127.0.0.1:8888", "http://127.0.0.1:8080"]
    # a DSN is not a URL a client opens (and may hold a password)
    assert daytoday.client_address("127.0.0.1:5432", run.outputs) == "127.0.0.1:5432"


def test_the_stop_and_start_budgets_are_the_engines():
    from engines import docker as docker_engine, kubernetes as kubernetes_engine
    assert workloads.STOP_SECONDS == docker_engine.STOP_GRACE_SECONDS == kubernetes_engine.STOP_GRACE_SECONDS
    assert workloads.START_SECONDS == kubernetes_engine.START_SECONDS
    assert workloads.DOCKER_LABEL == docker_engine.LABEL
