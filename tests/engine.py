"""Real Docker engines for the tests of what is ours to run for real: image builds,
health gates, file modes. No registry is reachable, so base images are made locally from
the static busybox (`docker import`).

Without an engine these tests skip, saying why; with FHL_REQUIRE_DOCKER=1 (as .ci/run
sets) they fail instead, so that CI never passes without running them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

import pytest

REQUIRED = os.environ.get("FHL_REQUIRE_DOCKER") == "1"


def docker(*args: str, host: str | None = None, check: bool = False, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "DOCKER_HOST": host} if host else None
    return subprocess.run(["docker", *args], capture_output=True, text=True, env=env, check=check, **kwargs)


def engine_problem(host: str | None = None) -> str | None:
    if shutil.which("docker") is None:
        return "no docker command on PATH"
    result = docker("info", host=host)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        return f"no Docker engine answers ({lines[-1] if lines else 'docker info failed'})"
    if not Path("/bin/busybox").exists():
        return "no /bin/busybox to make a base image from (apt-get install busybox-static)"
    return None


def need(problem: str | None, what: str) -> None:
    """Skip (or, where engines are required, fail) when something is missing."""
    if problem:
        message = f"needs {what}: {problem}"
        if REQUIRED:
            pytest.fail(message + " (FHL_REQUIRE_DOCKER=1)")
        pytest.skip(message)


def stop(process: subprocess.Popen | None, grace: float = 20) -> None:
    """End a server a test started: asked to stop, killed after `grace` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def import_base(host: str | None = None) -> str:
    """A tiny base image: the static busybox as /bin/busybox and /bin/sh."""
    tag = f"fhl-test-base:{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "rootfs.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add("/bin/busybox", arcname="bin/busybox")
            link = tarfile.TarInfo("bin/sh")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
            tmp_dir = tarfile.TarInfo("tmp")
            tmp_dir.type, tmp_dir.mode = tarfile.DIRTYPE, 0o1777
            tar.addfile(tmp_dir)
        docker("import", str(archive), tag, host=host, check=True)
    return tag


class SecondEngine:
    """A second dockerd on its own socket, data root, exec root and bridge: a stand-in
    for a remote Docker host. (Not `--bridge none`: a daemon started so deletes the
    host's docker0, which the first engine needs.)"""

    SUBNET = "172.31.254.1/24"

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="fhl-engine-", dir="/tmp"))
        self.host = f"unix://{self.root}/docker.sock"
        self.log = self.root / "dockerd.log"
        self.bridge = f"fhl{uuid.uuid4().hex[:8]}"
        self.process: subprocess.Popen | None = None

    def problem(self) -> str | None:
        if shutil.which("dockerd") is None:
            return "no dockerd on PATH (apt-get install docker.io)"
        if shutil.which("ip") is None:
            return "no ip command to make its bridge (apt-get install iproute2)"
        if os.geteuid() != 0:
            return "starting a second dockerd needs root"
        return None

    def start(self, timeout: float = 60) -> str | None:
        """Start it; None once it answers, else why not."""
        for command in (["link", "add", "name", self.bridge, "type", "bridge"],
                        ["addr", "add", self.SUBNET, "dev", self.bridge], ["link", "set", self.bridge, "up"]):
            made = subprocess.run(["ip", *command], capture_output=True, text=True)
            if made.returncode != 0:
                return f"ip {' '.join(command)}: {made.stderr.strip()}"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                ["dockerd", "--host", self.host, "--data-root", str(self.root / "data"),
                 "--exec-root", str(self.root / "exec"), "--pidfile", str(self.root / "docker.pid"),
                 "--bridge", self.bridge, "--iptables=false", "--ip-masq=false"],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return f"dockerd exited with {self.process.returncode}: {self.log.read_text()[-500:]}"
            if docker("info", host=self.host).returncode == 0:
                return None
            time.sleep(0.5)
        return f"dockerd did not answer within {timeout:.0f}s: {self.log.read_text()[-500:]}"

    def stop(self) -> None:
        stop(self.process, grace=30)
        subprocess.run(["umount", "-R", str(self.root / "data")], capture_output=True)
        subprocess.run(["ip", "link", "delete", self.bridge], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
