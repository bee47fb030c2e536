"""The downloads' settings: where they are cached (`downloadCache`) and the mirror they
come from (`downloadMirror`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .config import PROJECT, PROJECT_DIR


def cache_dir(value: str) -> Path:
    if value:
        path = Path(os.path.expanduser(value))
        return path if path.is_absolute() else PROJECT_DIR / path
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / PROJECT


def check_downloads(values: dict, errors: list[str]) -> None:
    mirror = values["downloadMirror"].rstrip("/")
    if mirror and not re.match(r"^(https?|file)://", mirror):
        errors.append(f"downloadMirror: {mirror!r} is not allowed; give an http://, https:// or file:// URL")
