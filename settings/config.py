"""What the Pulumi CLI hands the program, and how it is read.

`Pulumi.yaml` declares every key (type, default, description). Before the program
starts, the Pulumi CLI adds every declared default that the stack does not set to the
configuration it hands the program, so the program cannot tell a key the user set from
one at its default: every check reads values, never presence (the one exception: a key
that is not declared at all, which no default can explain). `cli_config` says what the
CLI hands the program; the tests' harness runs the program on exactly that.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import pulumi
import yaml
from pulumi.runtime import config as pulumi_config

PROJECT = "factorhouse-local"
PROJECT_DIR = Path(__file__).resolve().parent.parent
RESOURCES = PROJECT_DIR / "resources"

# Namespaces of the providers the program configures itself, with the settings that stand
# for their keys: `docker:host` is `dockerHost`.
PROVIDER_KEYS = {
    "docker": {"host": "dockerHost"},
    "kubernetes": {"context": "kubeContext", "namespace": "namespace"},
    "command": {},
}


class SettingsError(pulumi.RunError):
    """A user's mistake in the config: reported as one line per bad key, no traceback
    (the Pulumi language host prints a RunError's message only)."""


def declarations() -> dict[str, dict]:
    """The `config:` section of Pulumi.yaml, each key as a dict."""
    config = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]
    return {key: spec for key, spec in config.items()}


def default(spec: dict) -> Any:
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
    return {f"{PROJECT}:{key}": as_passed(default(spec)) for key, spec in declared.items()
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
        return default(spec)
    kind = spec.get("type", "object" if "value" in spec else "string")
    if kind == "string":
        return raw
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            errors.append(f"{key}: {raw!r} is not a whole number")
            return default(spec)
    if kind == "boolean":
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        errors.append(f"{key}: {raw!r} is not allowed; use true or false")
        return default(spec)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    if kind == "array" and not isinstance(value, list):
        example = (spec.get("default") or ["VALUE"])[0]
        errors.append(f"{key}: {raw!r} is not a list; set it item by item, e.g. "
                      f"pulumi config set --path '{key}[0]' {example}")
        return default(spec)
    if kind != "array" and not isinstance(value, dict):
        errors.append(f"{key}: {raw!r} is not a map; set it key by key, e.g. pulumi config set --path '{key}.KEY' VALUE")
        return default(spec)
    return value


def one_of(key: str, value: Any, allowed: tuple[str, ...], errors: list[str]) -> None:
    if value not in allowed:
        errors.append(f"{key}: {value!r} is not allowed; use one of {', '.join(allowed)}")


def shown(value: Any) -> str:
    """A value as the user writes it in `pulumi config set`: true/false, 'text', 10."""
    return json.dumps(value) if isinstance(value, bool) else repr(value)


def _config_keys() -> set[str]:
    """Every key of the program's configuration (`namespace:key`), of every namespace."""
    return set(pulumi_config.CONFIG.get()) | set(pulumi_config.get_config_env())


def _given_keys() -> list[str]:
    """The keys of this project in the program's configuration. Under the CLI that is every
    declared key with a default, set or not: presence says nothing about the user."""
    return sorted(k.split(":", 1)[1] for k in _config_keys() if k.startswith(f"{PROJECT}:"))


def _provider_keys() -> list[str]:
    """Keys of the providers' own namespaces (`docker:host`) in the configuration. The CLI
    passes them on, but they configure only default providers, and the program gives its
    providers their settings itself: such a key would be ignored without a word."""
    return sorted(k for k in _config_keys() if k.split(":", 1)[0] in PROVIDER_KEYS)


def read(declared: Mapping[str, dict], errors: list[str]) -> dict[str, Any]:
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
