"""Passwords and exposure: where ports are published (`bindAddress`), how clients reach
them (`hostAddress`, `portOffset`), the names (`namePrefix`), and the passwords, refused
at their defaults where others can reach the services.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Mapping

from .config import default

# The lowest and highest host ports that any stack publishes (before the offset; the
# highest is ClickHouse's native port); tests/test_settings.py checks that these bound
# every published port of every stack.
PUBLISHED_PORTS = (2181, 29000)
CLOUDBEAVER_PASSWORD_LENGTH = 4  # passwordPolicy.minLength of CloudBeaver's configuration
_PREFIX = re.compile(r"^([a-z0-9][a-z0-9-]*)?$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")

# Passwords whose defaults are everybody's: refused where others can reach the service
# (ports published beyond this machine, a cluster), by the stack that uses them (or the
# stacks, any of which runs the service).
DEFAULT_PASSWORDS = {"minioPassword": "analytics", "postgresPassword": "analytics",
                     "grafanaPassword": "telemetry", "marquezPassword": "lineage", "redisPassword": "redis",
                     "clickhousePassword": "clickhouse", "cloudbeaverPassword": ("clickhouse", "starrocks"),
                     "openmetadataPassword": "metadata", "openmetadataDbPassword": "metadata",
                     "airflowPassword": "metadata"}


def exposed(values: dict, errors: list[str]) -> bool:
    """Whether `bindAddress` publishes ports beyond this machine; also checks how clients
    reach them (`hostAddress`, `portOffset`) and the names (`namePrefix`)."""
    try:
        exposed = not ipaddress.ip_address(values["bindAddress"]).is_loopback
    except ValueError:
        errors.append(f"bindAddress: {values['bindAddress']!r} is not allowed; give an IP address of the host, "
                      "such as 127.0.0.1 or 0.0.0.0")
        exposed = False
    address = values["hostAddress"]
    if not _HOSTNAME.match(address):
        try:
            ipaddress.ip_address(address)
        except ValueError:
            errors.append(f"hostAddress: {address!r} is not allowed; give an IP address or a host name")
    offset = values["portOffset"]
    low, high = PUBLISHED_PORTS
    if isinstance(offset, int) and not (1 <= low + offset and high + offset <= 65535):
        errors.append(
            f"portOffset: {offset} is not allowed; published ports {low}..{high} must stay within 1..65535, "
            f"so use {1 - low}..{65535 - high}"
        )
    if not _PREFIX.match(values["namePrefix"]):
        errors.append(f"namePrefix: {values['namePrefix']!r} is not allowed; use lowercase letters, digits and '-', "
                      "starting with a letter or digit")
    return exposed


def check_passwords(values: dict, declared: Mapping[str, dict], chosen: tuple[str, ...], exposed: bool,
                     errors: list[str]) -> None:
    """Credentials are not empty, MinIO's long enough, and a default password is refused
    where others can reach the service: ports published beyond this machine, or a cluster."""
    for key in ("minioUser", "minioPassword", "postgresPassword", "grafanaPassword", "marquezPassword", "redisPassword",
                "openmetadataPassword", "openmetadataDbPassword", "airflowPassword"):
        if not values[key]:
            errors.append(f"{key}: an empty value is not allowed")
    if len(values["minioPassword"]) < 8:
        # MinIO refuses to start with a shorter root password
        errors.append("minioPassword: fewer than 8 characters is not allowed (MinIO refuses it)")
    kubernetes = values["engine"] == "kubernetes"
    if not (exposed or kubernetes):
        return
    why = ("with engine kubernetes (a cluster is shared, and not every network plugin enforces the "
           "namespace's network policy)"
           if kubernetes else f"when bindAddress {values['bindAddress']} publishes ports to other machines")
    for key, stacks in DEFAULT_PASSWORDS.items():
        stacks = (stacks,) if isinstance(stacks, str) else stacks
        if set(stacks) & set(chosen) and values[key] == default(declared[key]):
            errors.append(f"{key}: the default password is not allowed {why}; "
                          f"set your own with `pulumi config set --secret {key} ...`")


def check_store_passwords(values: dict, errors: list[str]) -> None:
    """The passwords fit where they go: ClickHouse's image writes its password into an XML
    file as it is; Marquez puts its database password into its YAML configuration as text
    (quoted there, resources/lineage/marquez/marquez.yml), substituting any `${...}` in it;
    CloudBeaver's admin password follows the password policy of
    resources/stores/cloudbeaver/cloudbeaver.conf (4 characters at least)."""
    for key, unsafe_text, where in (("clickhousePassword", ("<", "&", "]]>"), "into an XML file"),
                                    ("marquezPassword", ("'", "${"), "into a YAML file, quoted")):
        unsafe = [c for c in unsafe_text if c in values[key]]
        if unsafe:
            errors.append(f"{key}: {' and '.join(unsafe)} is not allowed (the image writes the password "
                          f"{where}, as it is); choose another")
    if len(values["cloudbeaverPassword"]) < CLOUDBEAVER_PASSWORD_LENGTH:
        errors.append(f"cloudbeaverPassword: fewer than {CLOUDBEAVER_PASSWORD_LENGTH} characters is not allowed "
                      "(CloudBeaver's password policy)")


def check_metadata_passwords(values: dict, declared: Mapping[str, dict], errors: list[str]) -> None:
    """OpenMetadata takes a new administrator password only when it follows its password
    policy (8 to 56 characters, with an upper and a lower case letter, a digit and a
    special character); its default (`admin`) is the server's own first password."""
    password = values["openmetadataPassword"]
    if password == default(declared["openmetadataPassword"]):
        return
    if not (8 <= len(password) <= 56 and re.search(r"[A-Z]", password) and re.search(r"[a-z]", password)
            and re.search(r"[0-9]", password) and re.search(r"[^A-Za-z0-9]", password)):
        errors.append("openmetadataPassword: the value is not allowed (OpenMetadata's password policy: 8 to 56 "
                      "characters, with an upper and a lower case letter, a digit and a special character)")
