"""commands/tunnel.py (`make tunnel`): the ssh command for every port a stack publishes,
read from containers on a real Docker engine (created, never started: their ports are
configured, not taken), carrying the stack's label as the program labels them."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid

import pytest

from engine import docker
from harness import PROJECT_DIR

from commands import tunnel


@pytest.mark.parametrize("host, destination", [
    ("ssh://alice@bigbox", ("alice@bigbox", None)),
    ("ssh://alice@bigbox:2222", ("alice@bigbox", 2222)),
    ("ssh://bigbox.corp", ("bigbox.corp", None)),
    ("tcp://bigbox:2376", ("bigbox", None)),  # the engine's port is not ssh's
    ("unix:///var/run/docker.sock", None),
    ("", None),
])
def test_the_server_is_the_docker_hosts(host, destination):
    assert tunnel.ssh_destination(host) == destination


def test_the_command_keeps_every_port_number_and_brackets_ipv6():
    ports = {10092: "127.0.0.1", 4000: "127.0.0.1", 10093: "::1"}
    assert tunnel.tunnel_command(ports, "alice@bigbox", 2222) == (
        "ssh -N -p 2222 -L 4000:127.0.0.1:4000 -L 10092:127.0.0.1:10092 -L '10093:[::1]:10093' alice@bigbox")


@pytest.fixture
def stack_containers(tmp_path, base_image):
    """Containers of a stack of the test's own: kpow and three brokers (offset 1000), and
    one of another stack; (project folder, stack)."""
    stack = f"t{uuid.uuid4().hex[:8]}"
    made = []

    def container(name: str, owner: str, *ports: str) -> None:
        full = f"fhl-test-{stack}-{name}"
        published = [arg for port in ports for arg in ("-p", port)]
        docker("create", "--name", full, "--network", "none", *published,
               "--label", f"dev.factorhouse.local.stack=factorhouse-local/{owner}", base_image, "/bin/busybox", "true",
               check=True)
        made.append(full)

    try:
        container("kpow", stack, "127.0.0.1:4000:3000")
        for n in (1, 2, 3):
            container(f"kafka-{n}", stack, f"127.0.0.1:{10091 + n}:{10091 + n}")
        container("minio", stack, "0.0.0.0:10000:9000", "127.0.0.1:10001:9001")  # bindAddress 0.0.0.0 too
        container("mc", stack)  # a one-shot: no ports
        container("other-kpow", f"{stack}-other", "127.0.0.1:5000:3000")
        project = tmp_path / "project"
        project.mkdir()
        (project / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
        yield project, stack
    finally:
        for name in made:
            docker("rm", "-f", name)


def test_every_published_port_of_the_stack_and_no_other(stack_containers):
    project, stack = stack_containers
    result = subprocess.run([sys.executable, "commands/tunnel.py", "--stack", stack, "--ssh", "alice@bigbox",
                             "--project-dir", str(project)], cwd=PROJECT_DIR, capture_output=True, text=True,
                            env={"PATH": "/usr/local/bin:/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 0, result.stderr
    # every broker's port: a client bootstrapping from kafka-1 is told of kafka-2 and kafka-3
    assert result.stdout == ("ssh -N -L 4000:127.0.0.1:4000 -L 10000:127.0.0.1:10000 -L 10001:127.0.0.1:10001 "
                             "-L 10092:127.0.0.1:10092 -L 10093:127.0.0.1:10093 -L 10094:127.0.0.1:10094 "
                             "alice@bigbox\n")
    assert f"tunnels the 6 ports stack {stack} publishes" in result.stderr


def test_a_stack_on_this_machines_engine_needs_no_tunnel(stack_containers, capsys):
    project, stack = stack_containers
    assert tunnel.main(["--stack", stack, "--project-dir", str(project)], env={}) == 2
    assert capsys.readouterr().err.startswith(f"stack {stack} runs on this machine's Docker engine")


def test_a_stack_without_containers_or_on_kubernetes_says_what_to_do(tmp_path, capsys):
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.k8s.yaml").write_text("config:\n  factorhouse-local:engine: kubernetes\n")
    stack = f"gone-{uuid.uuid4().hex[:8]}"
    (project / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
    assert tunnel.main(["--stack", stack, "--ssh", "alice@bigbox", "--project-dir", str(project)], env={}) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"stack {stack} has no containers on the Docker engine at unix:///var/run/docker.sock: "
        f"`make up STACK={stack}` first"]
    assert tunnel.main(["--stack", "k8s", "--project-dir", str(project)], env={}) == 2
    assert capsys.readouterr().err.splitlines() == [
        "stack k8s runs on Kubernetes: `make forward STACK=k8s` forwards its ports"]


def test_an_engine_that_does_not_answer_is_one_line_not_no_containers(tmp_path, capsys):
    with socket.socket() as probe:  # a port nothing listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.alice.yaml").write_text(f"config:\n  factorhouse-local:dockerHost: tcp://127.0.0.1:{port}\n")
    assert tunnel.main(["--stack", "alice", "--project-dir", str(project)], env={"PATH": "/usr/local/bin:/usr/bin:/bin"}) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"the Docker engine at tcp://127.0.0.1:{port} does not answer (")
    assert "connection refused" in line.lower() or "cannot connect" in line.lower(), line
