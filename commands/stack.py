#!/usr/bin/env python3
"""What `make up`, `make preview` and `make down` run.

    stack.py up|preview|down|forward [--stack NAME] [--project-dir DIR]

1. Finds the Pulumi CLI (PATH, then ~/.pulumi/bin). When it is missing, says how to
   install it and, only if the user agrees at a prompt, downloads the official installer
   and runs it; a failed download or install says so.
2. The state backend is the project's own (Pulumi.yaml: backend.url, a folder
   .pulumi-state in the project), unless PULUMI_BACKEND_URL names another: every plain
   `pulumi` command run in the project folder uses the same state.
3. With a local backend, secrets are encrypted with a passphrase: on a terminal it is
   asked for once (twice for a new stack, to confirm) and handed to every pulumi command
   it runs (commands/passphrase.py); without a terminal, PULUMI_CONFIG_PASSPHRASE (or
   _FILE) must be set, and it stops at once, in one line, when it is not.
4. Puts right what an interrupted or failed run left behind (commands/recover.py: a lock
   of a pulumi that ended, objects made but never written to the state, a failed
   one-shot, pending operations), saying in one line each what it found and did.
0. Before all of this (up and preview): the stack's licence settings, as Pulumi.yaml and
   Pulumi.<stack>.yaml set them, are checked as the program checks them
   (settings/licences.py, `license_problems`), so that a licence file that is missing or
   incomplete stops it at once, in the program's own words, not a minute into pulumi.
5. Selects the stack, creating it on first use (up and preview), then runs
   `pulumi up --refresh`, `pulumi preview --refresh --diff` (what up would do) or
   `pulumi destroy`. Without a terminal, --yes is passed to up and destroy, and up skips
   its preview pass (--skip-preview: nobody reads it); on a terminal up shows what it
   will change and asks first.
   Before all this, `up` asks commands/noop.py whether there is anything to do: when the
   settings, files, program, state and engine are as the last `up` left them it says so
   in one line and runs no pulumi (nor asks the passphrase); when only the inputs changed
   it runs `pulumi up` without --refresh. `--refresh` (make up REFRESH=1) always reads
   every resource back.
6. `forward` (engine kubernetes): runs every `kubectl port-forward` of the stack's
   `portForwards` output at once, starting again any that ends (a pod that restarted),
   until Ctrl-C.
Nothing it runs waits for an answer that is not shown: every pulumi command it runs has
the user's terminal, or none (--non-interactive, no input).

Its failure paths (a "no" at a prompt, a failed step, an engine or cluster that does not
answer), what the user sees of each, and the test that holds it: docs/commands.md.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))  # run as a script or imported

from commands import noop, passphrase, recover, stack_outputs  # noqa: E402
from commands.passphrase import PASSPHRASE_KEYS, uses_passphrase  # noqa: E402,F401
from commands.pulumi_cli import backend_url, find_pulumi, local_folder  # noqa: E402,F401
from settings import cli_config  # noqa: E402
from settings.licences import license_problems  # noqa: E402

INSTALLER_URL = "https://get.pulumi.com"


def install_pulumi(env: Mapping[str, str]) -> str | None:
    """Download the official installer, then run it; None when it worked, else why not.
    (Two steps: in `curl | sh` a failed download would read as a successful install.)"""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "install.sh"
        fetched = subprocess.run(["curl", "-fsSL", "-o", str(script), INSTALLER_URL], env=dict(env))
        if fetched.returncode != 0:
            return f"downloading the installer from {INSTALLER_URL} failed (curl exit {fetched.returncode})"
        installed = subprocess.run(["sh", str(script)], env=dict(env))
        if installed.returncode != 0:
            return f"the installer failed (exit {installed.returncode})"
    return None


def pulumi_steps(action: str, stack: str, interactive: bool, refresh: bool = True) -> list[list[str]]:
    """The pulumi commands of an action, in order; `refresh`: up reads every resource back."""
    yes = [] if interactive else ["--yes"]
    if action == "up":
        return [["stack", "select", "--create", stack],
                ["up", "--stack", stack, *(["--refresh"] if refresh else []), *yes,
                 *([] if interactive else ["--skip-preview"])]]
    if action == "preview":
        return [["stack", "select", "--create", stack], ["preview", "--stack", stack, "--refresh", "--diff"]]
    if action == "down":
        return [["destroy", "--stack", stack, *yes]]
    raise ValueError(f"unknown action {action!r}")


def stack_exists(pulumi: str, stack: str, env: Mapping[str, str], cwd: Path) -> bool:
    # no terminal and no input: it cannot wait for an answer nobody sees
    return subprocess.run([pulumi, "stack", "select", stack, "--non-interactive"], env=dict(env), cwd=cwd,
                          stdin=subprocess.DEVNULL, capture_output=True).returncode == 0


def forward(pulumi: str, stack: str, env: Mapping[str, str], cwd: Path,
            stop: Callable[[], bool] = lambda: False, pace: float = 1.0, interactive: bool = False) -> int:
    """Run the stack's port forwards until Ctrl-C (or `stop()`), starting again any that
    ended, after a pause that doubles (up to 30 s) while it keeps ending at once, saying
    why (kubectl's last line)."""
    try:
        commands = stack_outputs.read(stack, cwd, env, interactive, name="portForwards", show_secrets=False,
                                      pulumi=pulumi)
    except stack_outputs.OutputsError as problem:
        if not problem.missing:
            print(problem, file=sys.stderr)
            return 2
        commands = None
    if not commands:
        print(f"Stack {stack} has no port forwards to run: they are made by `make up` with engine kubernetes "
              f"(`pulumi config get engine --stack {stack}`).", file=sys.stderr)
        return 1
    running: dict[str, tuple[subprocess.Popen, float, Path]] = {}
    wait_until = {command: 0.0 for command in commands}
    pauses = {command: 0.0 for command in commands}
    announced: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="forward-") as tmp:
        try:
            while not stop():
                now = time.monotonic()
                for n, command in enumerate(commands):
                    if command in running:
                        process, started, log = running[command]
                        if process.poll() is None:
                            continue
                        del running[command]
                        lines = log.read_text(errors="replace").strip().splitlines()
                        quick = now - started < 5
                        pauses[command] = min(30.0, max(pace, pauses[command] * 2)) if quick else 0.0
                        wait_until[command] = now + pauses[command]
                        print(f"ended (exit {process.returncode}: {lines[-1] if lines else 'no message'}); "
                              f"starting again in {pauses[command]:.0f}s: {command}", flush=True)
                        continue
                    if now < wait_until[command]:
                        continue
                    if command not in announced:
                        print(f"forwarding: {command}", flush=True)
                        announced.add(command)
                    log = Path(tmp) / f"{n}.log"
                    with open(log, "w") as handle:
                        running[command] = (subprocess.Popen(shlex.split(command), env=dict(env),
                                                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                             stderr=handle), now, log)
                time.sleep(pace)
        except KeyboardInterrupt:
            pass
        finally:
            for process, _, _ in running.values():
                process.terminate()
            for process, _, _ in running.values():
                process.wait()
    return 0


def pulumi_or_install(env: Mapping[str, str], interactive: bool, ask: Callable[[str], str]) -> str | None:
    """The Pulumi CLI's path; when it is missing, says how to install it and, only if the
    user agrees at the prompt, runs the official installer. None (said in one line) when
    there is still none."""
    pulumi = find_pulumi(env)
    if pulumi is not None:
        return pulumi
    print(f"The Pulumi CLI is not installed. Its official installer is:\n    curl -fsSL {INSTALLER_URL} | sh\n"
          "(see https://www.pulumi.com/docs/install/ for other ways).", file=sys.stderr)
    if not interactive or ask("Download and run the installer now? [y/N] ").strip().lower() not in ("y", "yes"):
        return None
    problem = install_pulumi(env)
    if problem:
        print(f"Pulumi is not installed: {problem}. Install it by hand and run this again.", file=sys.stderr)
        return None
    pulumi = find_pulumi(env)
    if pulumi is None:
        print("Pulumi was installed but cannot be found; add ~/.pulumi/bin to PATH.", file=sys.stderr)
    return pulumi


def run_steps(pulumi: str, action: str, stack: str, env: Mapping[str, str], project: Path, folder: Path | None,
              interactive: bool, refresh: bool) -> int:
    """Run the action's pulumi commands in order (`pulumi_steps`), stopping at the first
    that fails with its exit code. After an `up` that succeeded, the record of the last up
    is kept (commands/noop.py); a failed step and `down` leave none."""
    for step in pulumi_steps(action, stack, interactive, refresh=refresh):
        # what the plan depends on, as it is when the update starts
        inputs = noop.inputs_digest(project, stack, env, pulumi) if step[0] == "up" else None
        code = subprocess.run([pulumi, *step], env=env, cwd=project).returncode
        if code != 0:
            noop.forget(project, stack)
            return code
        if inputs:
            noop.record(pulumi, stack, env, project, folder, inputs)
    if action == "down":
        noop.forget(project, stack)
    return 0


def what_up_does(pulumi: str, stack: str, env: Mapping[str, str], project: Path, folder: Path | None,
                 refresh: bool) -> noop.Verdict:
    """commands/noop.py's verdict for `up` (always `refresh` with --refresh), said in one
    line: the whole answer when there is nothing to do, else why it reads everything back
    or updates."""
    if refresh:
        return noop.Verdict("refresh")
    verdict = noop.check(pulumi, stack, env, project, folder)
    if verdict.action == "nothing":
        print(noop.unchanged_line(stack, noop.read_record(project, stack)))
    elif verdict.reason:
        print(f"make up: {verdict.reason}; "
              f"{'reading every resource back' if verdict.action == 'refresh' else 'updating'}.")
    return verdict


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None,
         ask: Callable[[str], str] | None = None, interactive: bool | None = None,
         read_secret: Callable[[str], str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["up", "preview", "down", "forward"])
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR)
    parser.add_argument("--refresh", action="store_true", help="up: read every resource back, even with nothing to do")
    args = parser.parse_args(argv)
    env = dict(os.environ if env is None else env)
    interactive = sys.stdin.isatty() if interactive is None else interactive
    ask = ask or input
    project = args.project_dir

    if args.action in ("up", "preview"):
        # the program refuses these too, but only after the passphrase and a minute of pulumi
        problems = license_problems(cli_config(project, args.stack))
        if problems:
            print("\n".join(problems), file=sys.stderr)
            return 2

    pulumi = pulumi_or_install(env, interactive, ask)
    if pulumi is None:
        return 1

    url = backend_url(env, project)
    folder = local_folder(url, project)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)  # the CLI needs the folder to exist
        if not interactive and not passphrase.given(env) and uses_passphrase(project, args.stack):
            print(passphrase.no_terminal(url, args.stack), file=sys.stderr)
            return 2

    if args.action == "forward":
        return forward(pulumi, args.stack, env, project, interactive=interactive)
    if args.action == "down" and not stack_exists(pulumi, args.stack, env, project):
        print(f"There is no stack {args.stack!r} in {url or 'your Pulumi backend'}: nothing to destroy.")
        return 0
    verdict = what_up_does(pulumi, args.stack, env, project, folder, args.refresh) if args.action == "up" \
        else noop.Verdict("refresh")
    if verdict.action == "nothing":
        return 0
    if folder is not None and interactive:
        # asked once here, never again by the pulumi commands below (recovery's included)
        try:
            env = passphrase.provide(env, project, args.stack, lambda: stack_exists(pulumi, args.stack, env, project),
                                     read=read_secret)
        except passphrase.NoPassphrase as problem:
            print(problem, file=sys.stderr)
            return 2
    try:
        recover.recover(args.action, pulumi, args.stack, env, project, folder)
    except recover.Stop as stop:
        print(stop, file=sys.stderr)
        return 2
    return run_steps(pulumi, args.action, args.stack, env, project, folder, interactive,
                     refresh=verdict.action == "refresh")


if __name__ == "__main__":
    from commands import entry
    entry.run(main)
