#!/usr/bin/env python3
"""What `make tunnel` runs: prints the one `ssh` command that tunnels every port a
stack publishes on a Docker server, each to the same port on this machine.

    tunnel.py [--stack NAME] [--ssh USER@HOST] [--project-dir DIR]

On a shared Docker server with the default loopback binding, clients on this machine
reach the platform through SSH tunnels that keep the port numbers, so that what Kafka
advertises (`hostAddress 127.0.0.1`, each broker its own port) is where the tunnel
listens. A client that bootstraps from kafka-1 is then told of kafka-2 and kafka-3: the
tunnel must carry every broker's port, and every other service's. The ports are read
from the engine the stack lives on (its `dockerHost`): the published ports of every
container carrying the stack's label, as configured (stopped containers included), each
tunnelled to the address it is bound to on the server (127.0.0.1 for 0.0.0.0).

The server to log in to is the `dockerHost`'s (`ssh://USER@HOST[:PORT]`; for
`tcp://HOST:PORT`, HOST), or --ssh. Prints the command on stdout and nothing else there,
so `$(make -s tunnel STACK=alice)` runs it; what it covers goes to stderr. Exit status 2,
with one line, when there is nothing to tunnel.

Its failure paths (a "no" at a prompt, a failed step, an engine or cluster that does not
answer), what the user sees of each, and the test that holds it: docs/commands.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Mapping, Optional, Sequence
from urllib.parse import urlsplit

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))  # run as a script or imported

from commands import recover  # noqa: E402
from settings import stack_label  # noqa: E402

ANY_ADDRESS = ("", "0.0.0.0", "::")


class NothingToTunnel(Exception):
    """One line: why there is no tunnel to print, and what to do."""


def ssh_destination(docker_host: str) -> Optional[tuple[str, Optional[int]]]:
    """(USER@HOST or HOST, SSH port or None) of the server a Docker address names; None
    for an engine on this machine (unix://, npipe://, nothing)."""
    parts = urlsplit(docker_host or "")
    if parts.scheme not in ("ssh", "tcp") or not parts.hostname:
        return None
    login = f"{parts.username}@{parts.hostname}" if parts.username else parts.hostname
    return login, parts.port if parts.scheme == "ssh" else None


def published_ports(docker: recover.Docker, stack: str) -> dict[int, str]:
    """Host port -> the server address it is bound to, of every container of the stack."""
    listed = docker("ps", "--all", "--filter", f"label={recover.LABEL}.stack={stack_label(stack)}",
                    "--format", "{{.Names}}")
    if listed.returncode != 0:
        raise NothingToTunnel(f"the Docker engine at {docker.env.get('DOCKER_HOST')} does not answer "
                              f"({(listed.stderr.strip().splitlines() or ['?'])[-1]})")
    names = sorted(set(listed.stdout.split()))
    if not names:
        raise NothingToTunnel(f"stack {stack} has no containers on the Docker engine at "
                              f"{docker.env.get('DOCKER_HOST')}: `make up STACK={stack}` first")
    found = docker("inspect", "--format", "{{json .HostConfig.PortBindings}}", *names)
    if found.returncode != 0 and not found.stdout.strip():  # not "no ports": the engine failed
        raise NothingToTunnel(f"docker could not inspect stack {stack}'s containers "
                              f"({(found.stderr.strip().splitlines() or ['?'])[-1]})")
    ports: dict[int, str] = {}
    for line in found.stdout.splitlines():
        for bindings in (json.loads(line) or {}).values():
            for binding in bindings or []:
                address = binding.get("HostIp", "")
                ports.setdefault(int(binding["HostPort"]), "127.0.0.1" if address in ANY_ADDRESS else address)
    if not ports:
        raise NothingToTunnel(f"stack {stack}'s containers publish no ports")
    return ports


def tunnel_command(ports: Mapping[int, str], login: str, ssh_port: Optional[int]) -> str:
    """`ssh -N [-p PORT] -L P:ADDRESS:P ... LOGIN`, the ports in order."""
    def address(ip: str) -> str:
        return f"[{ip}]" if ":" in ip else ip  # an IPv6 address, as ssh -L reads it

    forwards = [arg for port in sorted(ports) for arg in ("-L", f"{port}:{address(ports[port])}:{port}")]
    return shlex.join(["ssh", "-N", *(["-p", str(ssh_port)] if ssh_port else []), *forwards, login])


def tunnel(stack: str, settings: Mapping[str, str], env: Mapping[str, str], ssh: Optional[str]) -> str:
    if settings["engine"] == "kubernetes":
        raise NothingToTunnel(f"stack {stack} runs on Kubernetes: `make forward STACK={stack}` forwards its ports")
    docker = recover.Docker(settings["dockerHost"], env)
    destination = (ssh, None) if ssh else ssh_destination(docker.env.get("DOCKER_HOST", ""))
    if destination is None:
        raise NothingToTunnel(f"stack {stack} runs on this machine's Docker engine: its ports are here already "
                              "(--ssh USER@HOST, or SSH=USER@HOST with make, names a server to tunnel to)")
    ports = published_ports(docker, stack)
    print(f"tunnels the {len(ports)} ports stack {stack} publishes ({', '.join(map(str, sorted(ports)))}) "
          f"to {destination[0]}; leave it running", file=sys.stderr)
    return tunnel_command(ports, *destination)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--ssh", help="USER@HOST to log in to (default: the stack's dockerHost)")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR)
    args = parser.parse_args(argv)
    env = dict(os.environ if env is None else env)
    try:
        print(tunnel(args.stack, recover.stack_settings(args.project_dir, args.stack), env, args.ssh or None))
    except NothingToTunnel as nothing:
        print(nothing, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    from commands import entry
    entry.run(main)
