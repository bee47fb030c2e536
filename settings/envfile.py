"""Env files, read as docker compose reads an `env_file`.

One `KEY=VALUE` per line; blank lines and lines starting with `#` are skipped; an
`export ` before the key is allowed. A value in single quotes is taken literally; in
double quotes, `\\n`, `\\t`, `\\"` and `\\\\` are unescaped; either way the quotes are
removed. An unquoted value is trimmed and ends at ` #` (an inline comment).
"""

from __future__ import annotations

import re
from pathlib import Path

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


class EnvFileError(ValueError):
    pass


def _quoted(raw: str, where: str) -> str:
    """The value of a quoted raw value (quote first), after its closing quote only a
    comment may follow."""
    quote, out, i = raw[0], [], 1
    while i < len(raw):
        char = raw[i]
        if char == quote:
            rest = raw[i + 1:].strip()
            if rest and not rest.startswith("#"):
                raise EnvFileError(f"{where}: unexpected {rest!r} after the closing quote")
            return "".join(out)
        if quote == '"' and char == "\\" and i + 1 < len(raw):
            out.append(_ESCAPES.get(raw[i + 1], "\\" + raw[i + 1]))
            i += 2
            continue
        out.append(char)
        i += 1
    raise EnvFileError(f"{where}: no closing {quote}")


def parse_value(raw: str, where: str = "value") -> str:
    raw = raw.strip()
    if raw[:1] in ("'", '"'):
        return _quoted(raw, where)
    comment = raw.find(" #")
    return (raw[:comment] if comment >= 0 else raw).strip()


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{path}:{number}"
        if stripped.startswith("export "):
            stripped = stripped[len("export "):].lstrip()
        key, sep, value = stripped.partition("=")
        key = key.strip()
        if not sep or not _KEY.match(key):
            raise EnvFileError(f"{where}: expected KEY=VALUE, got {stripped!r}")
        values[key] = parse_value(value, where)
    return values
