"""Env files (KEY=VALUE lines, as docker's --env-file reads them)."""

from pathlib import Path


class EnvFileError(ValueError):
    pass


def read_env_file(path: Path) -> dict[str, str]:
    """Parse an env file: blank lines and lines starting with # are skipped; values are
    taken verbatim (docker does not strip quotes either)."""
    values: dict[str, str] = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.partition("=")
        if not sep or not key.strip() or " " in key.strip():
            raise EnvFileError(f"{path}:{number}: expected KEY=VALUE, got {stripped!r}")
        values[key.strip()] = value
    return values
