"""The engine's settings (`engine`, and the keys of each engine: ENGINE_KEYS), and the
names that say whose a container, volume or claim is.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from typing import Mapping

import pulumi

from .config import PROJECT, default, one_of, shown

ENGINES = ("docker", "kubernetes")
_DOCKER_HOST = re.compile(r"^(unix:///\S+|(tcp|ssh)://[^\s/]+/?|npipe://\S+)$")
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")  # a Kubernetes name (RFC 1123 label)
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")  # a Kubernetes label's value
_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$")  # os/arch[/variant]
_REGISTRY = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")

# Settings that mean something on one engine only: set to anything but their default on
# the other engine, they are refused (never ignored without a word).
ENGINE_KEYS = {
    "docker": ("bindAddress", "dockerHost"),
    "kubernetes": ("kubeContext", "namespace", "createNamespace", "storageClass", "imageRegistry", "imagePlatform"),
}


def check_engine(values: dict, declared: Mapping[str, dict], errors: list[str]) -> None:
    """`engine` is one of ENGINES, and a setting of the other engine is at its default. A
    key at its default is fine whether or not the stack file names it: the CLI hands the
    program every default, so the program cannot tell the two apart."""
    engine = values["engine"]
    one_of("engine", engine, ENGINES, errors)
    if engine not in ENGINES:
        return
    for other, keys in ENGINE_KEYS.items():
        for key in keys if other != engine else ():
            if values[key] != default(declared[key]):
                errors.append(f"{key}: {shown(values[key])} has no meaning with engine {engine} (it is a setting "
                              f"of engine {other}); remove it with `pulumi config rm {key}`")


def check_docker(values: dict, errors: list[str]) -> None:
    host = values["dockerHost"]
    if host and not _DOCKER_HOST.match(host):
        errors.append(f"dockerHost: {host!r} is not allowed; give unix:///PATH, tcp://HOST:PORT or ssh://USER@HOST, "
                      "or leave it empty for the default engine")


def check_kubernetes(values: dict, errors: list[str]) -> str:
    """Checks the Kubernetes settings; returns the namespace (its default made from the
    stack's name)."""
    namespace = values["namespace"] or default_namespace(pulumi.get_stack())
    if not _LABEL.match(namespace):
        errors.append(f"namespace: {namespace!r} is not allowed; use lowercase letters, digits and '-', "
                      "at most 63, starting and ending with a letter or digit")
    if values["storageClass"] and not _SUBDOMAIN.match(values["storageClass"]):
        errors.append(f"storageClass: {values['storageClass']!r} is not allowed; give the name of a storage class "
                      "(`kubectl get storageclass`), or leave it empty for the cluster's default")
    registry = values["imageRegistry"].rstrip("/")
    if registry and not _REGISTRY.match(registry):
        errors.append(f"imageRegistry: {registry!r} is not allowed; give HOST[:PORT][/PATH], "
                      "e.g. localhost:5001 or registry.corp/team")
    if values["imagePlatform"] and not _PLATFORM.match(values["imagePlatform"]):
        errors.append(f"imagePlatform: {values['imagePlatform']!r} is not allowed; give OS/ARCH as the nodes run, "
                      "e.g. linux/amd64 or linux/arm64 (`kubectl get nodes -o wide`)")
    address = values["hostAddress"]
    if values["engine"] == "kubernetes" and address != "localhost" and not _is_loopback(address):
        errors.append(f"hostAddress: {address!r} has no use with engine kubernetes: clients reach the services "
                      "through `make forward` on 127.0.0.1; remove it with `pulumi config rm hostAddress`")
    if values["kubeContext"] and re.search(r"\s", values["kubeContext"]):
        errors.append(f"kubeContext: {values['kubeContext']!r} is not allowed; give a context name "
                      "(`kubectl config get-contexts`), or leave it empty for the current one")
    return namespace


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def default_namespace(stack: str) -> str:
    """factorhouse-<stack>, made a Kubernetes name: lowercase letters, digits and '-'."""
    name = re.sub(r"[^a-z0-9-]+", "-", f"factorhouse-{stack}".lower())[:63]
    return name.strip("-")


def stack_label(stack: str) -> str:
    """Whose a Docker container or data volume is: the value of its label
    `dev.factorhouse.local.stack`, `<project>/<stack>` (e.g. `factorhouse-local/dev`)."""
    return f"{PROJECT}/{stack}"


def kubernetes_stack_label(stack: str) -> str:
    """Whose a claim is: the value of its label `factorhouse.local/stack`. A Kubernetes
    label value has at most 63 characters, letters, digits, '-', '_' and '.', beginning
    and ending with a letter or digit (no '/'): `<project>.<stack>`
    (`factorhouse-local.dev`) where that is one; else (a stack name of more than 45
    characters, or ending in '-', '_' or '.') its first 52 characters made valid, '-' and
    10 hex digits of the SHA-256 of `<project>.<stack>`, so two stacks never share one."""
    value = f"{PROJECT}.{stack}"
    if _LABEL_VALUE.match(value):
        return value
    head = re.sub(r"[^A-Za-z0-9_.-]+", "-", value)[:52].rstrip("-_.")
    return f"{head}-{hashlib.sha256(value.encode()).hexdigest()[:10]}"
