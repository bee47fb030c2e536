#!/usr/bin/env python3
"""What `make up`, `make preview` and `make down` run.

    stack.py up|preview|down [--stack NAME] [--project-dir DIR]

1. Finds the Pulumi CLI (PATH, then ~/.pulumi/bin); when it is missing, says how to
   install it, and runs the official installer only if the user agrees at a prompt.
2. Uses the state backend the user has (PULUMI_BACKEND_URL, or a `pulumi login`);
   when there is none, a local one kept in the project: file://DIR/.pulumi-state.
3. Selects the stack, creating it on first use (up and preview only).
4. Runs `pulumi up --refresh` (the refresh makes it work after a failed or interrupted
   run, or after containers were changed by hand), `pulumi preview --diff`, or
   `pulumi destroy`. Without a terminal, --yes is passed (nobody could answer).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Mapping, Sequence

PROJECT_DIR = Path(__file__).resolve().parent.parent
INSTALLER = "curl -fsSL https://get.pulumi.com | sh"


def find_pulumi(env: Mapping[str, str]) -> str | None:
    found = shutil.which("pulumi", path=env.get("PATH", ""))
    if found:
        return found
    home_install = Path(env.get("HOME", str(Path.home()))) / ".pulumi" / "bin" / "pulumi"
    return str(home_install) if home_install.is_file() and os.access(home_install, os.X_OK) else None


def backend_env(env: Mapping[str, str], project_dir: Path, logged_in: bool) -> dict[str, str]:
    """Settings to add so that pulumi has a state backend: none when the user has one."""
    if env.get("PULUMI_BACKEND_URL") or logged_in:
        return {}
    return {"PULUMI_BACKEND_URL": f"file://{project_dir / '.pulumi-state'}"}


def pulumi_steps(action: str, stack: str, interactive: bool) -> list[list[str]]:
    """The pulumi commands of an action, in order."""
    yes = [] if interactive else ["--yes"]
    if action == "up":
        return [["stack", "select", "--create", stack], ["up", "--stack", stack, "--refresh", *yes]]
    if action == "preview":
        return [["stack", "select", "--create", stack], ["preview", "--stack", stack, "--diff"]]
    if action == "down":
        return [["destroy", "--stack", stack, *yes]]
    raise ValueError(f"unknown action {action!r}")


def stack_exists(pulumi: str, stack: str, env: Mapping[str, str], cwd: Path) -> bool:
    return subprocess.run([pulumi, "stack", "select", stack], env=env, cwd=cwd,
                          capture_output=True).returncode == 0


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None,
         ask: Callable[[str], str] | None = None, interactive: bool | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["up", "preview", "down"])
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR)
    args = parser.parse_args(argv)
    env = dict(os.environ if env is None else env)
    interactive = sys.stdin.isatty() if interactive is None else interactive
    ask = ask or input

    pulumi = find_pulumi(env)
    if pulumi is None:
        print(f"The Pulumi CLI is not installed. Its official installer is:\n    {INSTALLER}\n"
              "(see https://www.pulumi.com/docs/install/ for other ways).", file=sys.stderr)
        if not interactive or ask("Run the installer now? [y/N] ").strip().lower() not in ("y", "yes"):
            return 1
        if subprocess.run(["sh", "-c", INSTALLER], env=env).returncode != 0:
            print("The installer failed; install Pulumi by hand and run this again.", file=sys.stderr)
            return 1
        pulumi = find_pulumi(env)
        if pulumi is None:
            print("Pulumi was installed but cannot be found; add ~/.pulumi/bin to PATH.", file=sys.stderr)
            return 1

    logged_in = subprocess.run([pulumi, "whoami"], env=env, cwd=args.project_dir,
                               capture_output=True).returncode == 0
    extra = backend_env(env, args.project_dir, logged_in)
    if extra:
        (args.project_dir / ".pulumi-state").mkdir(exist_ok=True)
        print(f"Using the local state backend {extra['PULUMI_BACKEND_URL']} "
              "(set PULUMI_BACKEND_URL or `pulumi login` to use another).")
    env.update(extra)

    if args.action == "down" and not stack_exists(pulumi, args.stack, env, args.project_dir):
        print(f"There is no stack {args.stack!r}: nothing to destroy.")
        return 0
    for step in pulumi_steps(args.action, args.stack, interactive):
        code = subprocess.run([pulumi, *step], env=env, cwd=args.project_dir).returncode
        if code != 0:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
