"""The Pulumi CLI the commands run, and the state backend it uses: what `make up`
(commands/stack.py) and every reader of a stack (commands/stack_outputs.py, daytoday.py,
drop_data.py) share."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Mapping

import yaml


def find_pulumi(env: Mapping[str, str]) -> str | None:
    found = shutil.which("pulumi", path=env.get("PATH", ""))
    if found:
        return found
    home_install = Path(env.get("HOME", str(Path.home()))) / ".pulumi" / "bin" / "pulumi"
    return str(home_install) if home_install.is_file() and os.access(home_install, os.X_OK) else None


def backend_url(env: Mapping[str, str], project_dir: Path) -> str:
    """The backend the CLI will use: PULUMI_BACKEND_URL, else the project's."""
    if env.get("PULUMI_BACKEND_URL"):
        return env["PULUMI_BACKEND_URL"]
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    return (project.get("backend") or {}).get("url", "")


def local_folder(url: str, project_dir: Path) -> Path | None:
    """The folder of a file:// backend (relative to the project folder, where pulumi runs)."""
    if not url.startswith("file://"):
        return None
    path = Path(os.path.expanduser(url[len("file://"):]))
    return path if path.is_absolute() else project_dir / path
