"""The licence files of Kpow and Flex (`kpowLicenseFile`, `flexLicenseFile`): env files
that set every licence key.
"""

from __future__ import annotations

import os
from pathlib import Path

from .config import PROJECT_DIR
from .envfile import EnvFileError, read_env_file

LICENSE_KEYS = ("LICENSE_ID", "LICENSE_CODE", "LICENSEE", "LICENSE_EXPIRY", "LICENSE_SIGNATURE")


def license_file(key: str, value: str, errors: list[str]) -> Path:
    path = Path(os.path.expanduser(value))
    path = path if path.is_absolute() else PROJECT_DIR / path
    if not path.is_file():
        errors.append(f"{key}: {value!r} is not a file; give the path of a licence env file")
        return path
    try:
        missing = [k for k in LICENSE_KEYS if k not in read_env_file(path)]
    except (EnvFileError, UnicodeDecodeError) as error:
        errors.append(f"{key}: {value!r} is not an env file ({error})")
        return path
    if missing:
        errors.append(f"{key}: {value!r} lacks {', '.join(missing)}; a licence file sets {', '.join(LICENSE_KEYS)}")
    return path
