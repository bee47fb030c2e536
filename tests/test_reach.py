"""Before any plan, the engine is reached and is the stack's own (engines/reach.py): for
real against the local Docker engine and dead addresses, and under mocks for a stack
whose last `up` ran on another engine."""

import json
import os
import socket
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

import engine
from engines import reach
from harness import ENGINE_ID, stand_in, run_program


def settings(kind="docker", host="", context=""):
    return SimpleNamespace(engine=kind, docker_host=host, kube_context=context)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed once the socket is


def test_the_local_engine_answers_with_its_own_id():
    engine.need(engine.engine_problem(), "a Docker engine")
    found = reach.reach(settings())
    expected = subprocess.run(["docker", "info", "--format", "{{.ID}}"], capture_output=True, text=True).stdout.strip()
    assert found.kind == "docker" and found.id == expected and found.id


@pytest.mark.parametrize("host", ["tcp://127.0.0.1:{port}", "unix:///tmp/fhl-no-engine-here.sock"])
def test_a_dead_address_stops_with_one_line_naming_it(host):
    host = host.format(port=closed_port())
    with pytest.raises(reach.EngineUnreachable) as caught:
        reach.reach(settings(host=host))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"dockerHost {host}: no Docker engine answers (")
    assert "pulumi config set dockerHost" in message
    assert ("connection refused" in message.lower() or "no such file" in message.lower()
            or "cannot connect" in message.lower()), message


def test_a_cluster_that_does_not_answer_is_one_line_naming_the_context(tmp_path, monkeypatch):
    bin_dir = stand_in(tmp_path, "kubectl", "#!/bin/sh\necho 'W1130 warning: something' >&2\n"
                                            "echo 'The connection to the server 127.0.0.1:6443 was refused' >&2\nexit 1\n")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    with pytest.raises(reach.EngineUnreachable) as caught:
        reach.reach(settings(kind="kubernetes", context="kind-team"))
    assert str(caught.value) == (
        "kubeContext kind-team: no Kubernetes cluster answers (The connection to the server 127.0.0.1:6443 was "
        "refused); start the cluster or name a context that reaches one (`pulumi config set kubeContext NAME`; "
        "`kubectl config get-contexts` lists them)")


def test_a_cluster_is_known_by_its_kube_system_namespace_and_the_current_context_by_name(tmp_path, monkeypatch):
    bin_dir = stand_in(tmp_path, "kubectl", '#!/bin/sh\necho "$*" >> "$(dirname "$0")/args"\n'
                                            'case "$1" in config) echo kind-kind ;; *) printf 6f1c-uid ;; esac\n')
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    found = reach.reach(settings(kind="kubernetes"))
    assert (found.kind, found.id, found.address) == ("kubernetes", "6f1c-uid", "kind-kind")
    calls = (bin_dir / "args").read_text().splitlines()
    assert calls[0] == "config current-context"
    assert calls[1].split()[:6] == ["--context", "kind-kind", "get", "namespace", "kube-system", "--output"]


def test_no_current_context_says_so(tmp_path, monkeypatch):
    bin_dir = stand_in(tmp_path, "kubectl", "#!/bin/sh\necho 'error: current-context is not set' >&2\nexit 1\n")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    with pytest.raises(reach.EngineUnreachable) as caught:
        reach.reach(settings(kind="kubernetes"))
    assert str(caught.value).startswith(
        "kubeContext is empty and no kubeconfig context is current (error: current-context is not set); name a context")


@pytest.mark.parametrize("kind, command, where", [
    ("docker", "docker", "dockerHost ssh://me@blackholed: no Docker engine answers"),
    ("kubernetes", "kubectl", "kubeContext kind-team: no Kubernetes cluster answers"),
], ids=["docker", "kubernetes"])
def test_an_engine_that_never_answers_is_given_up_on_after_its_timeout(tmp_path, monkeypatch, kind, command, where):
    """An address whose packets are dropped (an ssh host behind a firewall, a cluster's
    API server gone away): the call hangs, and is given up on after TIMEOUT seconds
    (here 1), in one line, instead of hanging the run: the hanging command (a stand-in
    that would sleep 10 minutes) was ended, not waited for."""
    pids = tmp_path / "pids"
    bin_dir = stand_in(tmp_path, command, f"#!/bin/sh\necho $$ >> {pids}\nexec sleep 600\n")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setattr(reach, "TIMEOUT", 1)
    with pytest.raises(reach.EngineUnreachable) as caught:
        reach.reach(settings(kind=kind, host="ssh://me@blackholed" if kind == "docker" else "", context="kind-team"))
    assert str(caught.value).startswith(f"{where} (no answer within 1s)")
    started = pids.read_text().split()
    assert started and not [pid for pid in started if Path(f"/proc/{pid}").exists()], "the hanging call still runs"


def test_a_dead_ssh_engine_names_ssh_s_own_error():
    import shutil
    if shutil.which("ssh") is None:
        pytest.skip("no ssh client")
    port = closed_port()
    with pytest.raises(reach.EngineUnreachable) as caught:
        reach.reach(settings(host=f"ssh://nobody@127.0.0.1:{port}"))
    assert f"(ssh: connect to host 127.0.0.1 port {port}: Connection refused)" in str(caught.value)


def test_without_the_docker_command_it_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(reach.EngineUnreachable) as caught:
        reach.reach(settings(host="ssh://me@box"))
    assert "the docker command is not on PATH" in str(caught.value)


# -- under mocks: the stack's engine -------------------------------------------------------

def test_the_engine_is_an_output_and_the_same_engine_runs_again():
    first = run_program({"dockerHost": "ssh://alice@bigbox"})
    assert first.outputs["engine"] == {"kind": "docker", "id": ENGINE_ID, "address": "ssh://alice@bigbox"}
    again = run_program({"dockerHost": "ssh://alice@bigbox.corp"}, last_outputs={"engine": first.outputs["engine"]})
    assert again.containers  # another name for the same engine is the same engine


@pytest.mark.parametrize("config", [{"dockerHost": "ssh://alice@otherbox"},
                                    {"engine": "kubernetes", "minioPassword": "not-default", "postgresPassword": "x",
                                     "redisPassword": "y"}])
def test_another_engine_is_refused_before_anything_is_planned(config):
    before = {"kind": "docker", "id": "OLD:ENGINE:0001", "address": "ssh://alice@bigbox"}
    other = {"kind": config.get("engine", "docker"), "id": "NEW:ENGINE:0002", "address": "x"}

    def answers(s):
        return reach.Identity(other["kind"], other["id"], s.docker_host or "(current context)")
    with pytest.raises(reach.EngineChanged) as caught:
        run_program(config, last_outputs={"engine": before}, reach=answers)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("this stack's resources live on the docker engine OLD:ENGINE:0001 at ssh://alice@bigbox")
    assert "set dockerHost (and engine) back and run `make down` there first" in message
    assert "`pulumi stack init NAME`" in message
    assert caught.value.registrations == []  # nothing planned, nothing made


def test_the_same_id_of_another_kind_of_engine_is_another_engine():
    before = {"kind": "docker", "id": "SAME", "address": "x"}
    with pytest.raises(reach.EngineChanged):
        reach.check_same(reach.Identity("kubernetes", "SAME", "kind-kind"), before)
    reach.check_same(reach.Identity("docker", "SAME", "other address"), before)  # same engine


def test_an_engine_without_an_id_of_its_own_is_known_by_its_address(tmp_path, monkeypatch):
    # Podman answers `docker info` with a new ID every time, or none
    bin_dir = stand_in(tmp_path, "docker", '#!/bin/sh\ncase "$1" in info) cat /proc/sys/kernel/random/uuid ;; '
                                           'version) echo 4.9.3 ;; esac\n')
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    found = reach.reach(settings(host="unix:///run/podman/podman.sock"))
    assert found.id == "address unix:///run/podman/podman.sock"


def test_an_unreachable_engine_stops_the_program_before_any_resource():
    def dead(s):
        raise reach.EngineUnreachable("dockerHost tcp://127.0.0.1:1: no Docker engine answers (connection refused)")
    with pytest.raises(reach.EngineUnreachable) as caught:
        run_program({"dockerHost": "tcp://127.0.0.1:1"}, reach=dead)
    assert caught.value.registrations == []


def test_a_first_up_and_a_destroyed_stack_have_no_engine_to_compare_with():
    assert run_program(last_outputs={}).outputs["engine"]["id"] == ENGINE_ID
    assert json.dumps(run_program(last_outputs={"summary": "x"}).outputs["engine"])
