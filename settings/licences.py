"""The licence files of Kpow and Flex (`kpowLicenseFile`, `flexLicenseFile`): env files
that set every licence key. One check for the program and for `make up`/`make preview`,
which ask it of the stack's plain settings before the passphrase and pulumi.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from .config import PROJECT, PROJECT_DIR
from .envfile import EnvFileError, read_env_file

LICENSE_KEYS = ("LICENSE_ID", "LICENSE_CODE", "LICENSEE", "LICENSE_EXPIRY", "LICENSE_SIGNATURE")
LICENSE_SETTINGS = ("kpowLicenseFile", "flexLicenseFile")


def license_path(value: str) -> Path:
    """A licence setting's file: `~` expanded, relative to the project folder."""
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else PROJECT_DIR / path


def license_problem(key: str, value: str) -> str | None:
    """What is wrong with a licence setting (`kpowLicenseFile`, `flexLicenseFile`), as one
    line naming the key, or None when its file is an env file that sets every one of
    LICENSE_KEYS. The program refuses with it before any resource; `make up` and `make
    preview` (commands/stack.py) ask the same of the stack's plain settings before pulumi
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


def license_file(key: str, value: str, errors: list[str]) -> Path:
    """The licence file of a setting; its problem, if any, added to `errors`."""
    problem = license_problem(key, value)
    if problem:
        errors.append(problem)
    return license_path(value)
