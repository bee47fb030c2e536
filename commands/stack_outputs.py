"""A stack's outputs as the user reads them: `pulumi stack output --json`, run in the
project folder on the backend `make up` uses (commands/stack.py). The one reader of
outputs: `make check` (secrets in plain text), `make ps`/`logs`/`restart`/`shell` and
`make forward` (secrets masked).

With a local backend the secrets are encrypted with the stack's passphrase:
PULUMI_CONFIG_PASSPHRASE (or _FILE) when set; else, on a terminal, it is asked for once
(commands/passphrase.py) and handed to the CLI; without a terminal, reading stops in one
line saying so. Secrets in plain text always need it; masked ones only with CLIs before
pulumi/pulumi#23820, so it is asked then only when the CLI fails for want of it.
"""

from __future__ import annotations

import getpass
import json
import subprocess
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from commands import passphrase
from commands.pulumi_cli import backend_url, find_pulumi, local_folder

TIMEOUT = 120  # seconds: a remote backend may be slow, a local one answers in about a second
# what the CLI says when there is nothing to read: no such stack, or no such output
MISSING = ("no stack named", "does not have output property")


class OutputsError(Exception):
    """Why the outputs cannot be read, in one line with the way out; `missing`: the stack,
    or the output, does not exist (or has no outputs yet)."""

    def __init__(self, message: str, missing: bool = False):
        super().__init__(message)
        self.missing = missing


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def read(stack: str, project_dir: Path, env: Mapping[str, str], interactive: bool,
         ask: Callable[[str], str] = getpass.getpass, name: Optional[str] = None, show_secrets: bool = True,
         pulumi: Optional[str] = None) -> Any:
    """Every output of `stack` as JSON values (a dict), or the one output `name`; secrets
    in plain text with `show_secrets`, masked without; OutputsError otherwise (no CLI, no
    passphrase to be had, no such stack or output, no outputs yet, the CLI's own error)."""
    pulumi = pulumi or find_pulumi(env)
    if pulumi is None:
        raise OutputsError("The Pulumi CLI is not installed, and the stack's outputs are read with it: "
                           f"`make up STACK={stack}` offers to install it.")
    env = dict(env)
    backend = backend_url(env, project_dir)
    locked = (local_folder(backend, project_dir) is not None and not passphrase.given(env)
              and passphrase.uses_passphrase(project_dir, stack))

    def with_passphrase() -> None:
        if not interactive:
            raise OutputsError(passphrase.no_terminal(backend, stack))
        env[passphrase.PASSPHRASE] = passphrase.ask(stack, new=False, read=ask)

    if locked and show_secrets:
        with_passphrase()
    command = [pulumi, "stack", "output", *([name] if name else []), "--json",
               *(["--show-secrets"] if show_secrets else []), "--non-interactive", "--stack", stack]
    result = _run(command, env, project_dir)
    if result.returncode != 0 and locked and not show_secrets and passphrase.needs_it(result.stderr):
        with_passphrase()
        result = _run(command, env, project_dir)
    if result.returncode != 0:
        cause = _last_line(result.stderr)
        raise OutputsError(f"Cannot read stack {stack}'s outputs ({cause}); `make up STACK={stack}` makes the stack "
                           "and its outputs.", missing=any(m in result.stderr for m in MISSING))
    try:
        outputs = json.loads(result.stdout or "{}")
    except json.JSONDecodeError:
        raise OutputsError(f"pulumi stack output printed something that is not JSON: {_last_line(result.stdout)}") \
            from None
    if name is None and (not isinstance(outputs, dict) or not outputs):
        raise OutputsError(f"Stack {stack} has no outputs: nothing runs yet; `make up STACK={stack}` first.",
                           missing=True)
    return outputs


def _run(command: list[str], env: Mapping[str, str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise OutputsError(f"pulumi stack output gave no answer within {TIMEOUT}s: is the state backend "
                           "reachable?") from None
