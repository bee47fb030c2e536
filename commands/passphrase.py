"""One passphrase per command: the stack's secrets passphrase, asked once and handed to
every `pulumi` the command runs.

On a local (file://) state backend Pulumi encrypts a stack's secrets with a passphrase.
Left to itself, every `pulumi` call that needs it asks for it again: a first `make up`
asked three times (the new passphrase, its confirmation, then again to unlock the stack
for `up`), and the recovery's `pulumi stack import` once more. So the scripts ask once,
on the terminal, without echo (`getpass`), and once more only to confirm a new one (a
stack whose file has no `encryptionsalt` yet and that the backend does not hold), then
put it into the environment of every `pulumi` they run as PULUMI_CONFIG_PASSPHRASE, the
CLI's own way to be given it. It is never written to a file, printed or passed as an
argument (which `ps` would show). The stack file gets the `encryptionsalt` that the CLI
makes with it, as when it asks itself, so plain `pulumi` keeps working with the same
passphrase.

Nothing is asked when PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE is set,
when the stack file names another secrets provider, or on another backend.
Standard library and PyYAML only.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Callable, Mapping, Optional

import yaml

PASSPHRASE = "PULUMI_CONFIG_PASSPHRASE"
PASSPHRASE_KEYS = (PASSPHRASE, "PULUMI_CONFIG_PASSPHRASE_FILE")
ATTEMPTS = 3  # times a new passphrase and its confirmation may differ before it stops


class NoPassphrase(Exception):
    """No passphrase could be had (one line, saying what to do)."""


def given(env: Mapping[str, str]) -> bool:
    """Whether the environment already gives Pulumi the passphrase (an empty
    PULUMI_CONFIG_PASSPHRASE is one: the CLI takes it as the passphrase)."""
    return PASSPHRASE in env or bool(env.get(PASSPHRASE_KEYS[1]))


def no_terminal(backend: str, stack: str) -> str:
    """The one line that stops a command needing the passphrase without a terminal to ask."""
    return (f"Set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE): the local state backend {backend} "
            f"encrypts stack {stack}'s secrets with it, and there is no terminal to ask.")


def _stack_file(project_dir: Path, stack: str) -> dict:
    path = project_dir / f"Pulumi.{stack}.yaml"
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def uses_passphrase(project_dir: Path, stack: str) -> bool:
    """Whether the stack's secrets are (or will be) encrypted with a passphrase: the
    default of a local backend, unless the stack file names another secrets provider."""
    return _stack_file(project_dir, stack).get("secretsprovider", "passphrase") == "passphrase"


def has_salt(project_dir: Path, stack: str) -> bool:
    """Whether the stack file holds the `encryptionsalt` of a passphrase chosen before."""
    return bool(_stack_file(project_dir, stack).get("encryptionsalt"))


def ask(stack: str, new: bool, read: Optional[Callable[[str], str]] = None,
        say: Callable[[str], None] = print) -> str:
    """The passphrase, read without echo (`read`: getpass.getpass); a new one twice,
    until both agree (NoPassphrase after ATTEMPTS tries)."""
    read = read or getpass.getpass
    if not new:
        return read(f"Passphrase of stack {stack}'s secrets: ")
    for _ in range(ATTEMPTS):
        chosen = read(f"Choose a passphrase for stack {stack}'s secrets (a new stack): ")
        if read("The same passphrase again, to confirm: ") == chosen:
            return chosen
        say("The two passphrases differ; once more.")
    raise NoPassphrase(f"the passphrases entered differed {ATTEMPTS} times; stack {stack} was not created. "
                       "Run the command again")


def provide(env: Mapping[str, str], project_dir: Path, stack: str, exists: Callable[[], bool],
            read: Optional[Callable[[str], str]] = None) -> dict[str, str]:
    """`env` with the passphrase in it, asked on the terminal when Pulumi will need one
    and `env` does not give it; `exists()` says whether the backend holds the stack
    (asked only when the stack file has no salt)."""
    env = dict(env)
    if given(env) or not uses_passphrase(project_dir, stack):
        return env
    new = not has_salt(project_dir, stack) and not exists()
    env[PASSPHRASE] = ask(stack, new, read)
    return env


def needs_it(stderr: str) -> bool:
    """Whether a failed pulumi command failed for want of the passphrase."""
    return "passphrase" in stderr.lower()
