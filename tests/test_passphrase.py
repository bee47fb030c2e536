"""One passphrase prompt per command (commands/passphrase.py, through commands/stack.py),
on a real terminal: `make up` runs under a pseudo-terminal, with a stand-in `pulumi`
that asks for the passphrase on the terminal, as the CLI does, whenever it needs one and
its environment gives none (two prompts to create a stack, one to unlock it)."""

import hashlib
import os
import pty
import re
import select
import signal
import sys
import time
from pathlib import Path

import pytest

from harness import PROJECT_DIR, project_copy, stand_in

from commands import passphrase, stack, stack_outputs

SECRET = "correct horse 4711"

# The CLI's prompts; what it needs the passphrase for; its salt in the stack file
# (here the passphrase's hash, so that a wrong one fails as with the CLI).
FAKE_PULUMI = f"""#!{sys.executable}
import getpass, hashlib, os, sys
from pathlib import Path
args = sys.argv[1:]
stack = args[args.index("--stack") + 1] if "--stack" in args else args[3] if args[2:3] == ["--create"] else args[2]
stack_file, made = Path(f"Pulumi.{{stack}}.yaml"), Path(".pulumi-state") / stack

def passphrase(new):
    if "PULUMI_CONFIG_PASSPHRASE" in os.environ:
        return os.environ["PULUMI_CONFIG_PASSPHRASE"], "env"
    if not sys.stdin.isatty():
        sys.exit("error: passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE")
    if new:
        chosen = getpass.getpass("Enter your passphrase to protect config/secrets: ")
        if getpass.getpass("Re-enter your passphrase to confirm: ") != chosen:
            sys.exit("error: passphrases do not match")
        return chosen, "prompt"
    return getpass.getpass("Enter your passphrase to unlock config/secrets\\n"
                           "    (set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE to remember): "), "prompt"

def unlock(new=False):
    given, how = passphrase(new)
    digest = hashlib.sha256(given.encode()).hexdigest()
    if new:
        stack_file.write_text(f"encryptionsalt: v1:{{digest}}\\n")
    elif stack_file.read_text().split("v1:")[1].strip() != digest:
        sys.exit("error: incorrect passphrase")
    return f" | passphrase {{digest[:12]}} by {{how}}"

said = ""
if args[:2] == ["stack", "select"]:
    if not made.exists():
        if "--create" not in args:
            sys.exit(1)
        said = unlock(new=not stack_file.exists())
        made.parent.mkdir(exist_ok=True)
        made.write_text("")
elif args[:2] == ["stack", "export"]:
    if not made.exists():
        sys.exit(1)
    # an interrupted run's: the recovery clears it with `pulumi stack import`
    print('{{"version": 3, "deployment": {{"resources": [], "pending_operations": '
          '[{{"type": "updating", "resource": {{"urn": "urn:x", "type": "x"}}}}]}}}}')
elif args[0] in ("up", "preview", "destroy") or args[:2] in (["stack", "import"], ["stack", "output"]):
    said = unlock()
    if args[1] == "output":
        print("{{}}")
with open(os.environ["CALLS"], "a") as log:
    log.write(" ".join(args) + said + "\\n")
"""

PROMPT = re.compile(rb"[^\n]*(passphrase|confirm)[^\n]*: $", re.I)


def converse(argv: list[str], env: dict[str, str], cwd: Path, answers: list,
             timeout: float = 60) -> tuple[str, list[str], int]:
    """Run argv on a new pseudo-terminal (its controlling terminal, as a shell's), answer
    each prompt with the next answer; (what the terminal showed, the prompts, exit code)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the terminal is its stdin, stdout, stderr and /dev/tty
        try:
            os.chdir(cwd)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    shown, pending, prompts = b"", b"", []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                data = os.read(fd, 4096)
            except OSError:  # the terminal closed: the child ended
                break
            if not data:
                break
            shown, pending = shown + data, pending + data
            asked = PROMPT.search(pending)
            if asked:
                prompts.append(asked.group(0).decode().strip())
                answer = answers.pop(0) if answers else "no more answers"
                # bytes: keys as typed (Ctrl-D, Ctrl-C), without Enter
                os.write(fd, answer if isinstance(answer, bytes) else answer.encode() + b"\n")
                pending = b""
        else:
            os.kill(pid, signal.SIGKILL)
            pytest.fail(f"still running after {timeout}s; the terminal showed: {shown.decode(errors='replace')}")
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return shown.decode(errors="replace"), prompts, os.waitstatus_to_exitcode(status)


@pytest.fixture
def world(tmp_path):
    bin_dir = stand_in(tmp_path, "pulumi", FAKE_PULUMI)
    project = project_copy(tmp_path)
    # no docker on PATH: the recovery finds no engine to look at, as on a machine without one
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path / "home"), "CALLS": str(tmp_path / "calls"),
           "PYTHONDONTWRITEBYTECODE": "1", "TERM": "dumb"}
    return project, env, tmp_path / "calls"


def make(action: str, project: Path, env: dict[str, str], answers: list[str]) -> tuple[str, list[str], int]:
    script = str(PROJECT_DIR / "commands" / "stack.py")
    return converse([sys.executable, script, action, "--project-dir", str(project)], env, project, answers)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def test_a_first_up_asks_once_and_once_more_to_confirm_and_every_pulumi_gets_it(world, tmp_path):
    project, env, calls = world
    shown, prompts, code = make("up", project, env, [SECRET, SECRET])
    assert code == 0, shown
    assert prompts == ["Choose a passphrase for stack dev's secrets (a new stack):",
                       "The same passphrase again, to confirm:"]
    made = calls.read_text().splitlines()
    assert made == [f"stack select --create dev | passphrase {digest(SECRET)} by env",
                    f"up --stack dev --refresh | passphrase {digest(SECRET)} by env"]
    # the CLI made the stack's salt with it, as when it asks itself
    assert (project / "Pulumi.dev.yaml").read_text().startswith("encryptionsalt: v1:")
    # never shown, never written anywhere
    assert SECRET not in shown
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path

    # the next up: the stack exists, once, no confirmation; the recovery's calls get it too
    calls.unlink()
    shown, prompts, code = make("up", project, env, [SECRET])
    assert code == 0, shown
    assert prompts == ["Passphrase of stack dev's secrets:"]
    unlocked = [line for line in calls.read_text().splitlines() if " | " in line]
    assert [line.split(" --")[0] for line in unlocked] == ["stack import", "up"]
    assert {line.split(" | ")[1] for line in unlocked} == {f"passphrase {digest(SECRET)} by env"}
    assert SECRET not in shown


@pytest.mark.parametrize("gives_up, key", [("end-of-input", b"\x04"), ("ctrl-c", b"\x03")])
def test_giving_up_at_the_passphrase_prompt_stops_make_up_in_one_line_and_runs_no_pulumi(world, gives_up, key):
    # Ctrl-D (the end of input) or Ctrl-C at the script's own prompt, on a real terminal
    project, env, calls = world
    shown, prompts, code = make("up", project, env, [key])
    assert code == 130, shown
    assert prompts == ["Choose a passphrase for stack dev's secrets (a new stack):"]
    assert shown.strip().splitlines()[-1] == "stopped: nothing more was done"
    assert "Traceback" not in shown
    assert not calls.exists() and not (project / "Pulumi.dev.yaml").exists()  # no pulumi made anything


def test_a_confirmation_that_differs_is_asked_again_and_three_differences_stop_in_one_line(world):
    project, env, calls = world
    shown, prompts, code = make("up", project, env, [SECRET, "typo", SECRET, SECRET])
    assert code == 0 and len(prompts) == 4 and "The two passphrases differ; once more." in shown
    assert f"passphrase {digest(SECRET)} by env" in calls.read_text()

    (project.parent / "other").mkdir()
    other = project_copy(project.parent / "other")
    calls.unlink()
    shown, prompts, code = make("up", other, env, ["a", "b"] * 3)
    assert code == 2 and len(prompts) == 6
    assert shown.strip().splitlines()[-1] == ("the passphrases entered differed 3 times; stack dev was not created. "
                                              "Run the command again")
    assert not calls.exists() and not (other / "Pulumi.dev.yaml").exists()  # no pulumi made anything


def test_a_passphrase_in_the_environment_is_used_without_a_prompt(world):
    project, env, calls = world
    shown, prompts, code = make("up", project, {**env, "PULUMI_CONFIG_PASSPHRASE": SECRET}, [])
    assert code == 0 and prompts == []
    assert calls.read_text().count(f"passphrase {digest(SECRET)} by env") == 2


def test_a_wrong_passphrase_fails_as_the_cli_says(world):
    project, env, calls = world
    assert make("up", project, env, [SECRET, SECRET])[2] == 0
    shown, prompts, code = make("up", project, env, ["wrong"])
    assert code != 0 and "incorrect passphrase" in shown and len(prompts) == 1


def test_outputs_are_read_without_a_passphrase_unless_the_cli_needs_one(world):
    project, env, calls = world
    assert make("up", project, env, [SECRET, SECRET])[2] == 0
    pulumi = str(Path(env["PATH"].split(":")[0]) / "pulumi")
    asked = []
    # this stand-in needs it to read outputs, as CLIs before pulumi/pulumi#23820 do; it
    # has none to give (a stack never up)
    with pytest.raises(stack_outputs.OutputsError) as none:
        stack_outputs.read("dev", project, env, interactive=True, show_secrets=False, pulumi=pulumi,
                           ask=lambda prompt: asked.append(prompt) or SECRET)
    assert none.value.missing and asked == ["Passphrase of stack dev's secrets: "]
    with pytest.raises(stack_outputs.OutputsError, match=r"^Set PULUMI_CONFIG_PASSPHRASE .* no terminal to ask\.$"):
        stack_outputs.read("dev", project, env, interactive=False, show_secrets=False, pulumi=pulumi)


def test_a_wrong_passphrase_reading_outputs_is_said_as_the_cli_says_not_taken_for_no_stack(world):
    project, env, calls = world
    assert make("up", project, env, [SECRET, SECRET])[2] == 0
    pulumi = str(Path(env["PATH"].split(":")[0]) / "pulumi")
    with pytest.raises(stack_outputs.OutputsError, match="incorrect passphrase") as wrong:
        stack_outputs.read("dev", project, {**env, "PULUMI_CONFIG_PASSPHRASE": "wrong"}, interactive=False,
                           show_secrets=False, pulumi=pulumi)
    assert not wrong.value.missing


def test_stack_keeps_its_names():
    # commands import these from stack.py
    assert stack.uses_passphrase is passphrase.uses_passphrase and stack.PASSPHRASE_KEYS == passphrase.PASSPHRASE_KEYS
