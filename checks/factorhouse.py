"""Kpow's and Flex's questions (stacks/factorhouse.py): the UI answers, asking for a login where
the edition has one.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .plumbing import Failed, Target, gist, http, question


def _ui(t: Target, url_key: str, login_key: str, product: str) -> str:
    """A Factor House UI answers; asks for a login (401, a redirect to a login page, or a
    page with a password field) where its settings switch one on."""
    url, wants_login = t.output(url_key), t.output(login_key)
    page = http("GET", f"{url}/", expect=None, allow_redirects=True)
    if page.status_code not in (200, 401):
        raise Failed(f"{product} at {url} answered {page.status_code} {gist(page)}")
    login = page.status_code == 401 or "login" in urlsplit(page.url).path.lower() \
        or bool(re.search(r"type=[\"']?password|j_security_check", page.text, re.I))
    if wants_login and not login:
        raise Failed(f"{product} at {url} answers without asking for a login, though its settings "
                     f"(the {t.outputs.get('edition', '?')} edition's) switch one on")
    return f"answers {page.status_code}" + (", asks for a login" if login else ", no login")


@question("kpow", asks="{kpowUrl} answers, asking for a login where the edition has one")
def kpow(t: Target) -> str:
    return _ui(t, "kpowUrl", "kpowLogin", "Kpow")


@question("flex", asks="{flexUrl} answers, asking for a login where the edition has one")
def flex(t: Target) -> str:
    return _ui(t, "flexUrl", "flexLogin", "Flex")
