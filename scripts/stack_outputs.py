"""A stack's outputs as the user reads them: `pulumi stack output --json --show-secrets`,
run in the project folder on the backend `make up` uses (scripts/stack.py).

With a local backend the secrets (passwords) are encrypted with the stack's passphrase:
PULUMI_CONFIG_PASSPHRASE (or _FILE) when set; else, on a terminal, it is asked for once
and handed to the CLI; without a terminal, reading stops in one line saying so.
"""

from __future__ import annotations

import getpass
import json
import subprocess
from pathlib import Path
from typing import Callable, Mapping

from scripts import passphrase
from scripts.stack import backend_url, find_pulumi, local_folder

TIMEOUT = 120  # seconds: a remote backend may be slow, a local one answers in about a second


class OutputsError(Exception):
    """Why the outputs cannot be read, in one line with the way out."""


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def read(stack: str, project_dir: Path, env: Mapping[str, str], interactive: bool,
         ask: Callable[[str], str] = getpass.getpass) -> dict:
    """Every output of `stack`, secrets in plain text; OutputsError when there are none."""
    pulumi = find_pulumi(env)
    if pulumi is None:
        raise OutputsError("The Pulumi CLI is not installed, and the stack's outputs are read with it: "
                           f"`make up STACK={stack}` offers to install it.")
    env = dict(env)
    # secrets in plain text: on a local backend, always the passphrase (asked as every
    # other command asks it, scripts/passphrase.py)
    if (local_folder(backend_url(env, project_dir), project_dir) is not None and not passphrase.given(env)
            and passphrase.uses_passphrase(project_dir, stack)):
        if not interactive:
            raise OutputsError(passphrase.no_terminal(backend_url(env, project_dir), stack))
        env[passphrase.PASSPHRASE] = passphrase.ask(stack, new=False, read=ask)
    try:
        result = subprocess.run([pulumi, "stack", "output", "--json", "--show-secrets", "--non-interactive",
                                 "--stack", stack], env=env, cwd=project_dir, stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise OutputsError(f"pulumi stack output gave no answer within {TIMEOUT}s: is the state backend "
                           "reachable?") from None
    if result.returncode != 0:
        raise OutputsError(f"Cannot read stack {stack}'s outputs ({_last_line(result.stderr)}); "
                           f"`make up STACK={stack}` makes the stack and its outputs.")
    try:
        outputs = json.loads(result.stdout or "{}")
    except json.JSONDecodeError:
        raise OutputsError(f"pulumi stack output printed something that is not JSON: {_last_line(result.stdout)}") \
            from None
    if not isinstance(outputs, dict) or not outputs:
        raise OutputsError(f"Stack {stack} has no outputs: nothing runs yet; `make up STACK={stack}` first.")
    return outputs
