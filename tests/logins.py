"""Checks a password against an entry of a Jetty property-file realm
(`user: credential[,role ...]`), as Jetty does: plain text, `MD5:`, `CRYPT:` or `OBF:`."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import crypt  # Unix crypt(3): in the standard library up to Python 3.12
    except ImportError:  # pragma: no cover
        crypt = None


def realm(path: Path) -> dict[str, tuple[str, list[str]]]:
    """user -> (credential, roles) of a realm file."""
    users = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, _, rest = line.partition(":")
        credential, *roles = [part.strip() for part in rest.split(",")]
        users[user.strip()] = (credential, roles)
    return users


def deobfuscate(text: str) -> str:
    """Jetty's org.eclipse.jetty.util.security.Password.deobfuscate."""
    out, i = bytearray(), 0
    while i < len(text):
        if text[i] == "U":
            out.append((int(text[i + 1:i + 5], 36) >> 8) & 0xFF)
            i += 5
        else:
            value = int(text[i:i + 4], 36)
            out.append(((value // 256 + value % 256 - 254) // 2) & 0xFF)
            i += 4
    return out.decode()


def can_check(credential: str) -> bool:
    return not credential.startswith("CRYPT:") or crypt is not None


def verifies(password: str, credential: str) -> bool:
    if credential.startswith("MD5:"):
        return hashlib.md5(password.encode()).hexdigest() == credential[4:].lower()
    if credential.startswith("CRYPT:"):
        hashed = credential[6:]
        return crypt.crypt(password, hashed[:2]) == hashed
    if credential.startswith("OBF:"):
        return deobfuscate(credential[4:]) == password
    return password == credential
