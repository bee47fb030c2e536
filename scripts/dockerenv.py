"""The engine a docker CLI call reaches: the one the Docker provider reaches.

The provider goes to DOCKER_HOST (or a DOCKER_CONTEXT named in the environment), else
the local socket; it does not follow `docker context use`, which the docker CLI does.
Every script that calls the docker CLI takes its environment from here, so that the
build, the health gate, the engine check and the recovery reach the same engine as the
containers. Standard library only.
"""

from __future__ import annotations

import os
from typing import Mapping, Optional

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


def docker_env(env: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """The environment for a docker CLI call (DOCKER_HOST set, as the provider reads it)."""
    env = dict(os.environ if env is None else env)
    if not env.get("DOCKER_HOST") and not env.get("DOCKER_CONTEXT"):
        env["DOCKER_HOST"] = DEFAULT_SOCKET
    return env


def docker_cli(env: Optional[Mapping[str, str]] = None) -> str:
    """The docker command a user types to reach that engine."""
    env = os.environ if env is None else env
    host = env.get("DOCKER_HOST")
    return f"docker -H {host}" if host and host != DEFAULT_SOCKET else "docker"
