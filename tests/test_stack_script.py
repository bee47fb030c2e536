"""scripts/stack.py (what `make up`, `make preview` and `make down` run), with a stand-in
`pulumi` that records its calls."""

import os
from pathlib import Path

import pytest

from harness import stand_in

from scripts import stack

FAKE_PULUMI = r"""#!/bin/sh
echo "$* | backend=${PULUMI_BACKEND_URL:-none}" >> "$CALLS"
case "$1" in
  whoami) [ -n "$LOGGED_IN" ] && echo alice && exit 0; echo "not logged in" >&2; exit 1 ;;
  stack) [ "$3" = "--create" ] && exit 0; [ -n "$STACK_EXISTS" ] && exit 0; exit 1 ;;
  up) exit "${UP_EXIT:-0}" ;;
esac
exit 0
"""


@pytest.fixture
def world(tmp_path):
    bin_dir = stand_in(tmp_path, "pulumi", FAKE_PULUMI)
    project = tmp_path / "project"
    project.mkdir()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path / "home"), "CALLS": str(tmp_path / "calls")}
    return project, env, tmp_path / "calls"


def calls(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_first_up_uses_a_local_backend_in_the_project_and_creates_the_stack(world):
    project, env, log = world
    assert stack.main(["up", "--project-dir", str(project)], env=env, interactive=False) == 0
    backend = f"file://{project}/.pulumi-state"
    assert calls(log) == [
        "whoami | backend=none",
        f"stack select --create dev | backend={backend}",
        f"up --stack dev --refresh --yes | backend={backend}",
    ]
    assert (project / ".pulumi-state").is_dir()


def test_a_configured_backend_is_kept(world):
    project, env, log = world
    assert stack.main(["up", "--stack", "alice", "--project-dir", str(project)],
                      env={**env, "PULUMI_BACKEND_URL": "s3://team-state"}, interactive=True) == 0
    assert calls(log)[1:] == ["stack select --create alice | backend=s3://team-state",
                              "up --stack alice --refresh | backend=s3://team-state"]
    assert not (project / ".pulumi-state").exists()


def test_a_logged_in_user_keeps_their_backend(world):
    project, env, log = world
    assert stack.main(["preview", "--project-dir", str(project)], env={**env, "LOGGED_IN": "1"}, interactive=True) == 0
    assert calls(log)[1:] == ["stack select --create dev | backend=none", "preview --stack dev --diff | backend=none"]


def test_a_failed_up_fails_make(world):
    project, env, _ = world
    assert stack.main(["up", "--project-dir", str(project)], env={**env, "UP_EXIT": "3"}, interactive=False) == 3


def test_down_destroys_an_existing_stack_and_is_quiet_without_one(world, capsys):
    project, env, log = world
    assert stack.main(["down", "--project-dir", str(project)], env=env, interactive=False) == 0
    assert "nothing to destroy" in capsys.readouterr().out
    assert not any(c.startswith("destroy") for c in calls(log))
    assert stack.main(["down", "--project-dir", str(project)], env={**env, "STACK_EXISTS": "1"}, interactive=False) == 0
    assert calls(log)[-1].startswith("destroy --stack dev --yes")


def test_a_missing_cli_says_how_to_install_it_and_asks_first(world, capsys):
    project, env, log = world
    env = {**env, "PATH": "/usr/bin:/bin"}
    assert stack.main(["up", "--project-dir", str(project)], env=env, interactive=False) == 1
    assert stack.INSTALLER in capsys.readouterr().err
    asked = []
    assert stack.main(["up", "--project-dir", str(project)], env=env, interactive=True,
                      ask=lambda q: asked.append(q) or "n") == 1
    assert asked and calls(log) == []


def test_the_cli_is_found_in_its_default_install_folder(world):
    project, env, log = world
    home_bin = Path(env["HOME"]) / ".pulumi" / "bin"
    home_bin.mkdir(parents=True)
    os.rename(Path(env["PATH"].split(":")[0]) / "pulumi", home_bin / "pulumi")
    assert stack.find_pulumi(env) == str(home_bin / "pulumi")
    assert stack.main(["up", "--project-dir", str(project)], env=env, interactive=False) == 0
    assert calls(log)[-1].startswith("up --stack dev")
