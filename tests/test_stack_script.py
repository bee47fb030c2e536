"""commands/stack.py (what `make up`, `make preview` and `make down` run), with a stand-in
`pulumi` that records its calls, whether it had input, and the backend it would use."""

import json
import shutil
import stat
from pathlib import Path

import pytest
import yaml

from harness import PROJECT_DIR, stand_in

from commands import stack

FAKE_PULUMI = r"""#!/bin/sh
# what the CLI would use: PULUMI_BACKEND_URL, else the project's backend.url
if [ -t 0 ]; then input=terminal; elif [ -p /dev/stdin ] || [ -f /dev/stdin ]; then input=pipe; else input=none; fi
echo "$* | backend=${PULUMI_BACKEND_URL:-project} | stdin=$input" >> "$CALLS"
case "$1" in
  stack) [ "$3" = "--create" ] && exit "${SELECT_EXIT:-0}"; [ -n "$STACK_EXISTS" ] && exit 0; exit 1 ;;
  up) exit "${UP_EXIT:-0}" ;;
  preview) exit "${PREVIEW_EXIT:-0}" ;;
  destroy) exit "${DESTROY_EXIT:-0}" ;;
esac
exit 0
"""


@pytest.fixture
def world(tmp_path):
    bin_dir = stand_in(tmp_path, "pulumi", FAKE_PULUMI)
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", project / "Pulumi.yaml")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path / "home"), "CALLS": str(tmp_path / "calls"),
           "PULUMI_CONFIG_PASSPHRASE": "test"}
    return project, env, tmp_path / "calls"


def calls(path: Path) -> list[str]:
    return [line.split(" | stdin=")[0] for line in path.read_text().splitlines()] if path.exists() else []


def test_the_project_file_names_a_local_backend_in_the_project():
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    assert project["backend"]["url"] == "file://.pulumi-state"
    # it must exist for the CLI, in every clone
    assert (PROJECT_DIR / ".pulumi-state" / ".gitkeep").is_file()


def test_no_stack_file_is_committed_and_git_ignores_them():
    # a stack file gets the passphrase's `encryptionsalt:` on the first run: committed, it
    # would dirty every clone's tree and tie teammates to one passphrase
    import subprocess

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(PROJECT_DIR), *args], capture_output=True, text=True)

    if shutil.which("git") is None or git("rev-parse", "--git-dir").returncode != 0:
        pytest.skip("not a git checkout")
    assert git("ls-files", "Pulumi.*.yaml").stdout == ""
    for stack_file in ("Pulumi.dev.yaml", "Pulumi.alice-k8s.yaml"):
        assert git("check-ignore", "--no-index", "--quiet", stack_file).returncode == 0, stack_file
    assert git("check-ignore", "--no-index", "--quiet", "Pulumi.yaml").returncode == 1  # the project file is not


def test_first_up_creates_the_stack_in_the_projects_backend_and_refreshes(world):
    project, env, log = world
    assert stack.main(["up", "--project-dir", str(project)], env=env, interactive=False) == 0
    # what an interrupted run left is looked for first (commands/recover.py; nothing here)
    # without a terminal nobody reads a preview pass: up skips it
    assert calls(log) == ["stack export --stack dev | backend=project", "stack select --create dev | backend=project",
                          "up --stack dev --refresh --yes --skip-preview | backend=project"]
    assert (project / ".pulumi-state").is_dir()


def test_preview_refreshes_as_up_does(world):
    project, env, log = world
    assert stack.main(["preview", "--project-dir", str(project)], env=env, interactive=True) == 0
    assert calls(log)[-1] == "preview --stack dev --refresh --diff | backend=project"


def test_a_backend_url_from_the_environment_is_kept(world):
    project, env, log = world
    env = {**env, "PULUMI_BACKEND_URL": "s3://team-state"}
    del env["PULUMI_CONFIG_PASSPHRASE"]  # not a local backend: no passphrase needed here
    assert stack.main(["up", "--stack", "alice", "--project-dir", str(project)], env=env, interactive=False) == 0
    # not a local folder: no lock file to read, so it asks whether an update runs
    assert calls(log) == ["stack ls --json | backend=s3://team-state", "stack export --stack alice | backend=s3://team-state",
                          "stack select --create alice | backend=s3://team-state",
                          "up --stack alice --refresh --yes --skip-preview | backend=s3://team-state",
                          # what the up left, for the next make up (commands/noop.py)
                          "stack export --stack alice | backend=s3://team-state"]
    assert not (project / ".pulumi-state").exists()


def test_without_a_terminal_or_passphrase_it_stops_before_any_pulumi_in_one_line(world, capsys):
    project, env, log = world
    del env["PULUMI_CONFIG_PASSPHRASE"]
    assert stack.main(["up", "--project-dir", str(project)], env=env, interactive=False) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("Set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE)")
    assert calls(log) == []
    # a passphrase file does, and so does a terminal
    passfile = project / "pass"
    passfile.write_text("x")
    assert stack.main(["up", "--project-dir", str(project)], env={**env, "PULUMI_CONFIG_PASSPHRASE_FILE": str(passfile)},
                      interactive=False) == 0
    # on a terminal it is asked for (tests/test_passphrase.py: once, on a real terminal)
    assert stack.main(["up", "--project-dir", str(project)], env=env, interactive=True,
                      read_secret=lambda prompt: "asked") == 0
    # and a stack whose secrets another provider keeps needs none
    (project / "Pulumi.kms.yaml").write_text("secretsprovider: awskms://alias/x\n")
    assert stack.main(["up", "--stack", "kms", "--project-dir", str(project)], env=env, interactive=False) == 0


@pytest.mark.parametrize("action", ["up", "preview"])
def test_a_licence_file_that_is_missing_or_incomplete_stops_it_before_the_passphrase_and_pulumi(
        world, capsys, tmp_path, action):
    project, env, log = world
    asked = []
    incomplete = tmp_path / "kpow.env"
    incomplete.write_text("LICENSE_ID=1\nLICENSEE=me\n")
    (project / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": {
        "factorhouse-local:kpowLicenseFile": str(incomplete),
        "factorhouse-local:flexLicenseFile": str(tmp_path / "nowhere.env")}}))
    assert stack.main([action, "--project-dir", str(project)], env=env, interactive=True,
                      read_secret=lambda prompt: asked.append(prompt) or "asked") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"invalid config kpowLicenseFile: '{incomplete}' lacks LICENSE_CODE, LICENSE_EXPIRY, LICENSE_SIGNATURE; "
        "a licence file sets LICENSE_ID, LICENSE_CODE, LICENSEE, LICENSE_EXPIRY, LICENSE_SIGNATURE "
        "(or `pulumi config rm kpowLicenseFile`: it starts without a licence)",
        f"invalid config flexLicenseFile: '{tmp_path / 'nowhere.env'}' is not a file; give the path of a licence "
        "env file (or `pulumi config rm flexLicenseFile`: it starts without a licence)"]
    assert asked == [] and calls(log) == []
    # the program's own check, word for word: one function for both
    from settings.licences import license_problem
    assert err[0] == "invalid config " + license_problem("kpowLicenseFile", str(incomplete))
    # a complete file, or the setting left out (the placeholder), goes on to pulumi
    incomplete.write_text("".join(f"{key}=x\n" for key in ("LICENSE_ID", "LICENSE_CODE", "LICENSEE",
                                                           "LICENSE_EXPIRY", "LICENSE_SIGNATURE")))
    (project / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": {
        "factorhouse-local:kpowLicenseFile": str(incomplete)}}))
    assert stack.main([action, "--project-dir", str(project)], env=env, interactive=False) == 0
    assert calls(log)


def test_down_does_not_need_valid_licence_settings(world):
    project, env, log = world
    (project / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": {"factorhouse-local:kpowLicenseFile": "/nowhere"}}))
    assert stack.main(["down", "--project-dir", str(project)], env={**env, "STACK_EXISTS": "1"}, interactive=False) == 0
    assert calls(log)[-1].startswith("destroy --stack dev --yes")


def test_a_failed_up_fails_make(world):
    project, env, _ = world
    assert stack.main(["up", "--project-dir", str(project)], env={**env, "UP_EXIT": "3"}, interactive=False) == 3


@pytest.mark.parametrize("action, failing, step", [
    ("up", "SELECT_EXIT", "stack select --create dev"),  # a backend it cannot reach, a stack it cannot make
    ("preview", "SELECT_EXIT", "stack select --create dev"),
    ("preview", "PREVIEW_EXIT", "preview --stack dev"),
    ("down", "DESTROY_EXIT", "destroy --stack dev"),
])
def test_a_failed_step_fails_make_with_its_code_and_nothing_after_it_runs(world, action, failing, step):
    project, env, log = world
    code = stack.main([action, "--project-dir", str(project)], env={**env, failing: "4", "STACK_EXISTS": "1"},
                      interactive=False)
    assert code == 4
    made = calls(log)
    assert made[-1].startswith(step), made  # the failed step is the last one run


def test_down_destroys_an_existing_stack_and_is_quiet_without_one(world, capsys):
    project, env, log = world
    assert stack.main(["down", "--project-dir", str(project)], env=env, interactive=False) == 0
    assert "nothing to destroy" in capsys.readouterr().out
    assert not any(c.startswith("destroy") for c in calls(log))
    assert stack.main(["down", "--project-dir", str(project)], env={**env, "STACK_EXISTS": "1"}, interactive=False) == 0
    assert calls(log)[-1].startswith("destroy --stack dev --yes")


def test_nothing_it_runs_in_the_background_can_wait_for_input(world):
    project, env, log = world
    stack.main(["down", "--project-dir", str(project)], env=env, interactive=False)
    [probe] = [line for line in log.read_text().splitlines() if line.startswith("stack select dev")]
    assert "--non-interactive" in probe and probe.endswith("stdin=none")


def test_a_missing_cli_says_how_to_install_it_and_asks_first(world, capsys, tmp_path):
    project, env, log = world
    # a stand-in curl whose "installer" puts the stand-in pulumi where the real one goes
    installer = tmp_path / "install.sh"
    installer.write_text(f'mkdir -p "$HOME/.pulumi/bin" && cp {env["PATH"].split(":")[0]}/pulumi "$HOME/.pulumi/bin/"\n')
    (tmp_path / "tools").mkdir()
    tools = stand_in(tmp_path / "tools", "curl", '#!/bin/sh\necho "curl $*" >> "$CALLS"\n'
                                                 f'while [ "$1" != "-o" ]; do shift; done; cp {installer} "$2"\n')
    env = {**env, "PATH": f"{tools}:/usr/bin:/bin"}
    assert stack.main(["up", "--project-dir", str(project)], env=env, interactive=False) == 1
    assert stack.INSTALLER_URL in capsys.readouterr().err
    asked = []
    for answer in ("", "n", "no", "nope"):
        assert stack.main(["up", "--project-dir", str(project)], env=env, interactive=True,
                          ask=lambda q: asked.append(q) or answer) == 1
    assert len(asked) == 4 and calls(log) == []  # never downloaded, never run: nothing without a yes
    # only a yes downloads the installer and runs it; the run goes on with what it installed
    assert stack.main(["up", "--project-dir", str(project)], env=env, interactive=True, ask=lambda q: "y") == 0
    made = calls(log)
    assert made[0].startswith("curl -fsSL -o ") and made[0].endswith(f" {stack.INSTALLER_URL}")
    assert made[-1].startswith("up --stack dev")


def test_a_failed_installer_download_is_reported_as_a_failure(tmp_path):
    # curl fails (as with no network): the installer is never run, and it says so
    bin_dir = stand_in(tmp_path, "curl", "#!/bin/sh\nexit 6\n")
    stand_in(tmp_path, "sh", f"#!/bin/sh\necho ran >> {tmp_path}/sh-ran\n")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    problem = stack.install_pulumi(env)
    assert problem == f"downloading the installer from {stack.INSTALLER_URL} failed (curl exit 6)"
    assert not (tmp_path / "sh-ran").exists()


def test_a_failed_install_is_reported_as_a_failure(tmp_path):
    bin_dir = stand_in(tmp_path, "curl", '#!/bin/sh\nwhile [ "$1" != "-o" ]; do shift; done; echo "exit 4" > "$2"\n')
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    assert stack.install_pulumi(env) == "the installer failed (exit 4)"


def test_the_cli_is_found_in_its_default_install_folder(world):
    project, env, log = world
    home_bin = Path(env["HOME"]) / ".pulumi" / "bin"
    home_bin.mkdir(parents=True)
    fake = Path(env["PATH"].split(":")[0]) / "pulumi"
    fake.rename(home_bin / "pulumi")
    assert (home_bin / "pulumi").stat().st_mode & stat.S_IXUSR
    assert stack.find_pulumi(env) == str(home_bin / "pulumi")
    assert stack.main(["up", "--project-dir", str(project)], env=env, interactive=False) == 0
    assert calls(log)[-1].startswith("up --stack dev")


def test_forward_runs_every_port_forward_and_starts_again_one_that_ended(world, capsys):
    project, env, log = world
    forwards = ["kubectl --namespace factorhouse-dev port-forward service/kpow 3000:3000",
                "kubectl --namespace factorhouse-dev port-forward service/kafka-1 9092:9092"]
    bin_dir = Path(env["PATH"].split(":")[0])
    (bin_dir / "pulumi").write_text(f"#!/bin/sh\necho \"$*\" >> \"$CALLS\"\necho '{json.dumps(forwards)}'\n")
    # kpow's forward ends at once (its pod restarted); kafka-1's keeps running
    stand_in(bin_dir.parent, "kubectl",
             '#!/bin/sh\necho "kubectl $*" >> "$CALLS"\n'
             'case "$*" in *kpow*) echo "error: unable to listen on port 3000: address already in use" >&2; exit 1 ;; esac\n'
             'exec sleep 30\n')
    rounds = iter(range(24))
    code = stack.forward(str(bin_dir / "pulumi"), "dev", env, project, stop=lambda: next(rounds, None) is None,
                         pace=0.1)
    assert code == 0
    made = calls(log)
    assert made[0] == "stack output portForwards --json --non-interactive --stack dev"
    started = [line for line in made if line.startswith("kubectl")]
    assert started.count(forwards[1]) == 1  # still running: not started twice
    # ended at once, again and again: started again after pauses that double (0.1, 0.2,
    # 0.4, 0.8 s: 5 starts in the 24 rounds of 0.1 s the test runs), not every other
    # round (12 starts)
    assert 3 <= started.count(forwards[0]) <= 6, started.count(forwards[0])
    out = capsys.readouterr().out
    assert "ended (exit 1: error: unable to listen on port 3000: address already in use); starting again in" in out


def test_forward_without_forwards_says_what_to_do(world, capsys):
    project, env, log = world
    bin_dir = Path(env["PATH"].split(":")[0])
    (bin_dir / "pulumi").write_text("#!/bin/sh\necho 'error: current stack does not have output property' >&2\nexit 1\n")
    assert stack.forward(str(bin_dir / "pulumi"), "dev", env, project) == 1
    assert "no port forwards" in capsys.readouterr().err
