"""The program's settings: read, validated and frozen before any resource is made.

`Pulumi.yaml` declares every key (type, default, description). Before the program
starts, the Pulumi CLI adds every declared default that the stack does not set to the
configuration it hands the program, so the program cannot tell a key the user set from
one at its default: every check here reads values, never presence (the one exception: a
key that is not declared at all, which no default can explain). `cli_config` says what the
CLI hands the program; the tests' harness runs the program on exactly that.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import pulumi
import yaml
from pulumi.runtime import config as pulumi_config

from .catalog import CATALOGS, DEFAULT_IMAGES, EDITIONS, KAFKA_MODES, default_images
from .envfile import EnvFileError, read_env_file

PROJECT = "factorhouse-local"
PROJECT_DIR = Path(__file__).resolve().parent.parent
RESOURCES = PROJECT_DIR / "resources"

ENGINES = ("docker", "kubernetes")
STACKS = ("kpow", "flex", "analytics", "pinot", "telemetry", "lineage", "redis", "clickhouse", "starrocks")
PROFILES = ("full", "lite")
LICENSE_KEYS = ("LICENSE_ID", "LICENSE_CODE", "LICENSEE", "LICENSE_EXPIRY", "LICENSE_SIGNATURE")

# The lowest and highest host ports that any stack publishes (before the offset; the
# highest is ClickHouse's native port); tests/test_settings.py checks that these bound
# every published port of every stack.
PUBLISHED_PORTS = (2181, 29000)

CLOUDBEAVER_PASSWORD_LENGTH = 4  # passwordPolicy.minLength of CloudBeaver's configuration

_PREFIX = re.compile(r"^([a-z0-9][a-z0-9-]*)?$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
_DOCKER_HOST = re.compile(r"^(unix:///\S+|(tcp|ssh)://[^\s/]+/?|npipe://\S+)$")
_IMAGE = re.compile(r"^[a-z0-9][A-Za-z0-9._/:@-]*$")
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


# Namespaces of the providers the program configures itself, with the settings that stand
# for their keys: `docker:host` is `dockerHost`.
PROVIDER_KEYS = {
    "docker": {"host": "dockerHost"},
    "kubernetes": {"context": "kubeContext", "namespace": "namespace"},
    "command": {},
}

# Passwords whose defaults are everybody's: refused where others can reach the service
# (ports published beyond this machine, a cluster), by the stack that uses them (or the
# stacks, any of which runs the service).
DEFAULT_PASSWORDS = {"minioPassword": "analytics", "postgresPassword": "analytics",
                     "grafanaPassword": "telemetry", "marquezPassword": "lineage", "redisPassword": "redis",
                     "clickhousePassword": "clickhouse", "cloudbeaverPassword": ("clickhouse", "starrocks")}


class SettingsError(pulumi.RunError):
    """A user's mistake in the config: reported as one line per bad key, no traceback
    (the Pulumi language host prints a RunError's message only)."""


@dataclass(frozen=True)
class Settings:
    engine: str
    stacks: tuple[str, ...]
    edition: str
    kpow_license_file: Path
    flex_license_file: Path
    host_address: str
    bind_address: str
    port_offset: int
    name_prefix: str
    kafka_mode: str
    pyflink: bool
    profile: str
    persist_data: bool
    minio_user: str
    minio_password: pulumi.Output  # secret
    postgres_password: pulumi.Output  # secret
    redis_password: pulumi.Output  # secret
    catalog: str  # the analytics stack's catalog: rest or hive
    grafana_password: pulumi.Output  # secret
    marquez_password: pulumi.Output  # secret
    spark_thrift_ports: bool
    docker_host: str
    kube_context: str
    namespace: str  # the namespace's name, the default one included
    create_namespace: bool
    storage_class: str
    image_registry: str
    image_platform: str
    follow_latest: bool
    download_cache: Path
    download_mirror: str
    images: Mapping[str, str]
    clickhouse_password: pulumi.Output  # secret
    cloudbeaver_password: pulumi.Output  # secret

    @property
    def lite(self) -> bool:
        return self.profile == "lite"

    @property
    def kraft(self) -> bool:
        return self.kafka_mode == "kraft"

    @property
    def hive(self) -> bool:
        """Whether the catalog is the Hive Metastore (which needs the analytics stack)."""
        return self.catalog == "hive"

    def runs(self, stack: str) -> bool:
        return stack in self.stacks

    def port(self, base: int) -> int:
        """The host port that a base (upstream) host port becomes."""
        return base + self.port_offset

    def name(self, base: str) -> str:
        """The Docker object name that an upstream name becomes."""
        return self.name_prefix + base

    def url(self, base_port: int, scheme: str = "http") -> str:
        return f"{scheme}://{self.host_address}:{self.port(base_port)}"


def declarations() -> dict[str, dict]:
    """The `config:` section of Pulumi.yaml, each key as a dict."""
    config = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]
    return {key: spec for key, spec in config.items()}


def _default(spec: dict) -> Any:
    return spec["value"] if "value" in spec else spec.get("default")


def as_passed(value: Any) -> str:
    """A config value as the CLI hands it to the program: a string as it is, anything else
    (a boolean, a number, a list, a map) as compact JSON (`true`, `0`, `["kpow","flex"]`, `{}`)."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def project_defaults(declared: Mapping[str, dict] | None = None) -> dict[str, str]:
    """What the CLI adds to a stack's configuration before the program starts: every key of
    Pulumi.yaml that has a `default` or a `value`, as `project:key`, whether or not the
    stack sets it (the stack's own value then wins). So the program can never tell a key
    the user set from one at its default (docs/engine.md, "Configuration")."""
    declared = declarations() if declared is None else declared
    return {f"{PROJECT}:{key}": as_passed(_default(spec)) for key, spec in declared.items()
            if "default" in spec or "value" in spec}


def stack_file_config(project_dir: Path, stack: str) -> dict[str, str]:
    """The plain values that Pulumi.<stack>.yaml sets (`project:key` -> value as passed);
    `secure:` values are left out (only the CLI can decrypt them)."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        return {}
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    return {(key if ":" in key else f"{PROJECT}:{key}"): as_passed(value) for key, value in config.items()
            if not (isinstance(value, dict) and set(value) == {"secure"})}


def cli_config(project_dir: Path, stack: str, declared: Mapping[str, dict] | None = None) -> dict[str, str]:
    """The configuration the CLI hands the program of stack `stack`: Pulumi.yaml's defaults,
    then what Pulumi.<stack>.yaml sets (secure values aside)."""
    return {**project_defaults(declared), **stack_file_config(project_dir, stack)}


def _typed(key: str, spec: dict, raw: str | None, errors: list[str]) -> Any:
    """The value of a key: the stack's setting (always a string from the engine) converted
    to the declared type, or the declared default."""
    if raw is None:
        return _default(spec)
    kind = spec.get("type", "object" if "value" in spec else "string")
    if kind == "string":
        return raw
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            errors.append(f"{key}: {raw!r} is not a whole number")
            return _default(spec)
    if kind == "boolean":
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        errors.append(f"{key}: {raw!r} is not allowed; use true or false")
        return _default(spec)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    if kind == "array" and not isinstance(value, list):
        example = (spec.get("default") or ["VALUE"])[0]
        errors.append(f"{key}: {raw!r} is not a list; set it item by item, e.g. "
                      f"pulumi config set --path '{key}[0]' {example}")
        return _default(spec)
    if kind != "array" and not isinstance(value, dict):
        errors.append(f"{key}: {raw!r} is not a map; set it key by key, e.g. pulumi config set --path '{key}.KEY' VALUE")
        return _default(spec)
    return value


def _one_of(key: str, value: Any, allowed: tuple[str, ...], errors: list[str]) -> None:
    if value not in allowed:
        errors.append(f"{key}: {value!r} is not allowed; use one of {', '.join(allowed)}")


LICENSE_SETTINGS = ("kpowLicenseFile", "flexLicenseFile")


def license_path(value: str) -> Path:
    """A licence setting's file: `~` expanded, relative to the project folder."""
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else PROJECT_DIR / path


def license_problem(key: str, value: str) -> str | None:
    """What is wrong with a licence setting (`kpowLicenseFile`, `flexLicenseFile`), as one
    line naming the key, or None when its file is an env file that sets every one of
    LICENSE_KEYS. The program refuses with it before any resource; `make up` and `make
    preview` (scripts/stack.py) ask the same of the stack's plain settings before pulumi
    starts."""
    path = license_path(value)
    without = f" (or `pulumi config rm {key}`: it starts without a licence)"
    if not path.is_file():
        return f"{key}: {value!r} is not a file; give the path of a licence env file{without}"
    try:
        missing = [k for k in LICENSE_KEYS if k not in read_env_file(path)]
    except (EnvFileError, UnicodeDecodeError) as error:
        return f"{key}: {value!r} is not an env file ({error}){without}"
    if missing:
        return f"{key}: {value!r} lacks {', '.join(missing)}; a licence file sets {', '.join(LICENSE_KEYS)}{without}"
    return None


def license_problems(config: Mapping[str, str]) -> list[str]:
    """The licence settings' problems in a stack's configuration as `cli_config` gives it
    (`project:key` -> value), each as the program reports it (`invalid config KEY: ...`)."""
    values = (config.get(f"{PROJECT}:{key}") for key in LICENSE_SETTINGS)
    problems = (license_problem(key, value) for key, value in zip(LICENSE_SETTINGS, values)
                if value is not None)
    return [f"invalid config {problem}" for problem in problems if problem]


def _license_file(key: str, value: str, errors: list[str]) -> Path:
    problem = license_problem(key, value)
    if problem:
        errors.append(problem)
    return license_path(value)


def _cache_dir(value: str) -> Path:
    if value:
        path = Path(os.path.expanduser(value))
        return path if path.is_absolute() else PROJECT_DIR / path
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / PROJECT


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


def _config_keys() -> set[str]:
    """Every key of the program's configuration (`namespace:key`), of every namespace."""
    return set(pulumi_config.CONFIG.get()) | set(pulumi_config.get_config_env())


def _given_keys() -> list[str]:
    """The keys of this project in the program's configuration. Under the CLI that is every
    declared key with a default, set or not: presence says nothing about the user."""
    return sorted(k.split(":", 1)[1] for k in _config_keys() if k.startswith(f"{PROJECT}:"))


def _shown(value: Any) -> str:
    """A value as the user writes it in `pulumi config set`: true/false, 'text', 10."""
    return json.dumps(value) if isinstance(value, bool) else repr(value)


# -- the checks, each of one meaning: (values, errors) -> what it derives --------------

def _provider_keys() -> list[str]:
    """Keys of the providers' own namespaces (`docker:host`) in the configuration. The CLI
    passes them on, but they configure only default providers, and the program gives its
    providers their settings itself: such a key would be ignored without a word."""
    return sorted(k for k in _config_keys() if k.split(":", 1)[0] in PROVIDER_KEYS)


def _read(declared: Mapping[str, dict], errors: list[str]) -> dict[str, Any]:
    """Every declared key's value, typed (its default where the configuration lacks it); a
    key that is not declared is refused (a typo would otherwise be ignored without a word),
    and so is a key of a provider's namespace."""
    for key in _given_keys():
        if key not in declared:
            errors.append(f"{key}: is not a setting of {PROJECT}; the settings are {', '.join(declared)}")
    for key in _provider_keys():
        namespace = key.split(":", 1)[0]
        instead = PROVIDER_KEYS[namespace].get(key.split(":", 1)[1])
        errors.append(f"{key}: is not read (the program configures its {namespace} provider from its own settings); "
                      + (f"use {instead} instead: " if instead else "")
                      + f"remove it with `pulumi config rm {key}`")
    return {key: _typed(key, spec, pulumi.runtime.get_config(f"{PROJECT}:{key}"), errors)
            for key, spec in declared.items()}


def _check_engine(values: dict, declared: Mapping[str, dict], errors: list[str]) -> None:
    """`engine` is one of ENGINES, and a setting of the other engine is at its default. A
    key at its default is fine whether or not the stack file names it: the CLI hands the
    program every default, so the program cannot tell the two apart."""
    engine = values["engine"]
    _one_of("engine", engine, ENGINES, errors)
    if engine not in ENGINES:
        return
    for other, keys in ENGINE_KEYS.items():
        for key in keys if other != engine else ():
            if values[key] != _default(declared[key]):
                errors.append(f"{key}: {_shown(values[key])} has no meaning with engine {engine} (it is a setting "
                              f"of engine {other}); remove it with `pulumi config rm {key}`")


def _chosen_stacks(values: dict, errors: list[str]) -> tuple[str, ...]:
    """The stacks to run, in the fixed order of STACKS whatever order the user gave."""
    stacks = values["stacks"]
    if not stacks or not all(isinstance(s, str) for s in stacks):
        errors.append(f"stacks: {stacks!r} is not allowed; give a non-empty list from {', '.join(STACKS)}")
        return ()
    unknown = [s for s in stacks if s not in STACKS]
    if unknown:
        errors.append(f"stacks: {', '.join(map(repr, unknown))} is not allowed; use any of {', '.join(STACKS)}")
    return tuple(s for s in STACKS if s in stacks)


def _check_choices(values: dict, errors: list[str]) -> None:
    _one_of("edition", values["edition"], EDITIONS, errors)
    _one_of("profile", values["profile"], PROFILES, errors)
    _one_of("kafkaMode", values["kafkaMode"], KAFKA_MODES, errors)
    _one_of("catalog", values["catalog"], CATALOGS, errors)


def _check_catalog(values: dict, chosen: tuple[str, ...], errors: list[str]) -> None:
    """The Hive Metastore runs in the analytics stack (on its Postgres and MinIO), and its
    Spark runs no Thrift server."""
    if values["catalog"] != "hive":
        return
    if chosen and "analytics" not in chosen:
        errors.append("catalog: 'hive' needs the analytics stack (the metastore runs there, on its Postgres and "
                      "MinIO); add analytics to stacks, or set catalog rest")
    if values["sparkThriftPorts"]:
        errors.append("sparkThriftPorts: true has no meaning with catalog hive (its Spark runs the history server, "
                      "no Thrift server); remove it with `pulumi config rm sparkThriftPorts`")


def _exposed(values: dict, errors: list[str]) -> bool:
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


def _check_passwords(values: dict, declared: Mapping[str, dict], chosen: tuple[str, ...], exposed: bool,
                     errors: list[str]) -> None:
    """Credentials are not empty, MinIO's long enough, and a default password is refused
    where others can reach the service: ports published beyond this machine, or a cluster."""
    for key in ("minioUser", "minioPassword", "postgresPassword", "grafanaPassword", "marquezPassword", "redisPassword"):
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
        if set(stacks) & set(chosen) and values[key] == _default(declared[key]):
            errors.append(f"{key}: the default password is not allowed {why}; "
                          f"set your own with `pulumi config set --secret {key} ...`")


def _check_store_passwords(values: dict, errors: list[str]) -> None:
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


def _check_docker(values: dict, errors: list[str]) -> None:
    host = values["dockerHost"]
    if host and not _DOCKER_HOST.match(host):
        errors.append(f"dockerHost: {host!r} is not allowed; give unix:///PATH, tcp://HOST:PORT or ssh://USER@HOST, "
                      "or leave it empty for the default engine")


def _check_kubernetes(values: dict, errors: list[str]) -> str:
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


def _check_downloads(values: dict, errors: list[str]) -> None:
    mirror = values["downloadMirror"].rstrip("/")
    if mirror and not re.match(r"^(https?|file)://", mirror):
        errors.append(f"downloadMirror: {mirror!r} is not allowed; give an http://, https:// or file:// URL")


def _images(values: dict, errors: list[str]) -> dict[str, str]:
    """Every image key's image: the default of the edition and Kafka mode, or the override."""
    edition = values["edition"] if values["edition"] in EDITIONS else EDITIONS[0]
    kafka_mode = values["kafkaMode"] if values["kafkaMode"] in KAFKA_MODES else KAFKA_MODES[0]
    resolved = default_images(edition, kafka_mode)
    for key, image in sorted(values["images"].items()):
        if key not in DEFAULT_IMAGES:
            errors.append(f"images: {key!r} is not an image key; use any of {', '.join(DEFAULT_IMAGES)}")
        elif not isinstance(image, str) or not _IMAGE.match(image):
            errors.append(f"images.{key}: {image!r} is not an image reference such as repo/name:tag")
        else:
            resolved[key] = image
    return dict(sorted(resolved.items()))


def load() -> Settings:
    """Read every declared key, validate all of them, and return frozen settings; raise
    SettingsError naming each bad key (one line each) before anything else happens."""
    errors: list[str] = []
    declared = declarations()
    values = _read(declared, errors)
    _check_engine(values, declared, errors)
    chosen = _chosen_stacks(values, errors)
    _check_choices(values, errors)
    _check_catalog(values, chosen, errors)
    exposed = _exposed(values, errors)
    _check_passwords(values, declared, chosen, exposed, errors)
    _check_store_passwords(values, errors)
    _check_docker(values, errors)
    namespace = _check_kubernetes(values, errors)
    _check_downloads(values, errors)
    images = _images(values, errors)
    kpow_license = _license_file("kpowLicenseFile", values["kpowLicenseFile"], errors)
    flex_license = _license_file("flexLicenseFile", values["flexLicenseFile"], errors)
    if errors:
        raise SettingsError("\n".join(f"invalid config {e}" for e in errors))

    return Settings(
        engine=values["engine"],
        stacks=chosen,
        edition=values["edition"],
        kpow_license_file=kpow_license,
        flex_license_file=flex_license,
        host_address=values["hostAddress"],
        bind_address=values["bindAddress"],
        port_offset=values["portOffset"],
        name_prefix=values["namePrefix"],
        kafka_mode=values["kafkaMode"],
        pyflink=values["pyflink"],
        profile=values["profile"],
        persist_data=values["persistData"],
        minio_user=values["minioUser"],
        minio_password=pulumi.Output.secret(values["minioPassword"]),
        postgres_password=pulumi.Output.secret(values["postgresPassword"]),
        redis_password=pulumi.Output.secret(values["redisPassword"]),
        catalog=values["catalog"],
        grafana_password=pulumi.Output.secret(values["grafanaPassword"]),
        marquez_password=pulumi.Output.secret(values["marquezPassword"]),
        spark_thrift_ports=values["sparkThriftPorts"],
        docker_host=values["dockerHost"],
        kube_context=values["kubeContext"],
        namespace=namespace,
        create_namespace=values["createNamespace"],
        storage_class=values["storageClass"],
        image_registry=values["imageRegistry"].rstrip("/"),
        image_platform=values["imagePlatform"],
        follow_latest=values["followLatest"],
        download_cache=_cache_dir(values["downloadCache"]),
        download_mirror=values["downloadMirror"].rstrip("/"),
        images=MappingProxyType(images),
        clickhouse_password=pulumi.Output.secret(values["clickhousePassword"]),
        cloudbeaver_password=pulumi.Output.secret(values["cloudbeaverPassword"]),
    )
