"""Which `make` targets ask for the stack's passphrase, as the README's first screen says
(its **Passphrase** item), held to what each target's script really does: every target
the README names is run as make runs it (the command of `make -n`), on a terminal, on an
existing stack with a passphrase, with a stand-in `pulumi` that needs the passphrase
where the CLI does, and the prompts are counted."""

import inspect
import importlib
import re
import shlex
import subprocess
import uuid

import pytest

from harness import PROJECT_DIR, project_copy, stand_in

from commands import passphrase

README = (PROJECT_DIR / "README.md").read_text()

# `stack output` of secrets in plain text needs the passphrase; masked ones only when
# NEEDS_IT_MASKED is set (CLIs before pulumi/pulumi#23820); up, preview and destroy
# always; `stack export` never
FAKE_PULUMI = r"""#!/bin/sh
locked() { [ -z "$PULUMI_CONFIG_PASSPHRASE" ] && { echo "error: passphrase must be set with PULUMI_CONFIG_PASSPHRASE" >&2; exit 1; }; }
case "$1 $2" in
  "stack output") case "$*" in *--show-secrets*) locked ;; *) [ -n "$NEEDS_IT_MASKED" ] && locked ;; esac
                  case "$3" in --*) echo '{"stacks": [], "services": {}}' ;; *) echo '[]' ;; esac ;;
  "stack export") echo '{"deployment": {"resources": []}}' ;;
  "stack select"|"stack ls") echo '[]' ;;
  up*|preview*|destroy*) locked ;;
esac
exit 0
"""


def first_screen_item(name: str) -> str:
    """The text of a `- **Name**` item of the README's first screen, on one line."""
    match = re.search(rf"^- \*\*{name}\*\*:?(.*?)(?=^- \*\*|^$)", README, re.M | re.S)
    assert match, name
    return " ".join(match.group(1).split())


def readme_says() -> dict[str, set[str]]:
    """always / only if the CLI needs it / never -> the make targets the README's
    Passphrase item puts there (`make up`, `preview`, ... once; ... only if ...; ... never)."""
    groups = {"always": set(), "sometimes": set(), "never": set()}
    for part in first_screen_item("Passphrase").split(";"):
        group = ("sometimes" if "only if" in part else "never" if " never" in part else
                 "always" if part.rstrip().endswith(" once") else None)
        if group:
            groups[group] |= {word.removeprefix("make ") for word in re.findall(r"`([^`]+)`", part)
                              if re.fullmatch(r"(make )?[a-z][a-z-]*", word)}
    return groups


def make_command(target: str, stack: str) -> list[str]:
    """What make runs for a target (its last line under `make -n`), as argv of the script."""
    printed = subprocess.run(["make", "-n", "--no-print-directory", target, f"STACK={stack}", "S=web"],
                             cwd=PROJECT_DIR, capture_output=True, text=True, check=True).stdout
    line = [line for line in printed.splitlines() if "commands/" in line][-1]
    words = shlex.split(line.lstrip("@"))
    script = next(w for w in words if w.startswith("commands/"))
    return [script, *words[words.index(script) + 1:]]


@pytest.fixture
def world(tmp_path, monkeypatch):
    project = project_copy(tmp_path)
    stack = f"t{uuid.uuid4().hex[:8]}"
    (project / f"Pulumi.{stack}.yaml").write_text("encryptionsalt: v1:salt\n")  # an existing stack's
    bin_dir = stand_in(tmp_path, "pulumi", FAKE_PULUMI)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path / "home")}
    asked: list[str] = []
    monkeypatch.setattr(passphrase, "ask", lambda stack, new, read=None, say=print: asked.append(stack) or "pw")

    def prompts(target: str, **extra: str) -> int:
        """How often running `make TARGET` asked for the passphrase."""
        script, *argv = make_command(target, stack)
        module = importlib.import_module("commands." + script[len("commands/"):-len(".py")])
        accepts = inspect.signature(module.main).parameters
        options = {"interactive": True} if "interactive" in accepts else {}
        if "say" in accepts:
            options["say"] = lambda line: None
        before = len(asked)
        module.main([*argv, "--project-dir", str(project)], env={**env, **extra}, **options)
        return len(asked) - before

    return prompts


def test_the_readme_names_every_target_that_touches_the_stack_once():
    said = readme_says()
    assert said["always"] == {"up", "preview", "down", "check"}
    everything = [t for group in said.values() for t in group]
    assert len(everything) == len(set(everything))


def test_the_targets_ask_for_the_passphrase_as_the_readme_says(world):
    said = readme_says()
    for target in said["always"]:
        assert world(target) == 1, target
    for target in said["sometimes"]:
        assert world(target) == 0, target
        assert world(target, NEEDS_IT_MASKED="1") == 1, target
    for target in said["never"]:
        assert world(target, NEEDS_IT_MASKED="1") == 0, target


def test_the_first_screen_says_what_a_licence_file_holds_and_how_to_start_without_one():
    from settings import LICENSE_KEYS
    item = first_screen_item("Licences")
    assert all(f"`{key}`" in item for key in LICENSE_KEYS)
    assert "leave both settings out" in item and "Kpow and Flex start" in item
    assert "stops `make up` at once" in item


def test_the_first_screen_says_that_enter_alone_cancels_pulumis_confirmation():
    item = first_screen_item("Confirmation")
    # Pulumi names the operation: `update` for up, `destroy` for destroy (backend/apply.go's updateTextMap)
    assert "`make up` asks Pulumi's \"Do you want to perform this update?\"" in item
    assert "`make down` \"...this destroy?\"" in item and "`no` selected" in item
    assert "Enter alone cancels" in item and "`yes`" in item
    # and it is Pulumi's own question: the wrapper passes --yes only without a terminal
    from commands.stack import pulumi_steps
    assert "--yes" not in pulumi_steps("up", "dev", interactive=True)[-1]
    assert "--yes" in pulumi_steps("down", "dev", interactive=False)[-1]
