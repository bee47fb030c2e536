"""File modes of what containers read: shared by the scripts (standard library only)."""

from __future__ import annotations

import os
from pathlib import Path


def readable_by_all(root: Path) -> None:
    """Folders 0755 and files 0644 (0755 when executable), whatever the umask and the
    archives said: containers read them as other users (Flink as uid 9999, Connect as
    appuser)."""
    os.chmod(root, 0o755)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            os.chmod(os.path.join(folder, name), 0o755)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755 if os.stat(path).st_mode & 0o111 else 0o644)
