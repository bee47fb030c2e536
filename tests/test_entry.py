"""The make targets' scripts end in one line when the user gives up at a prompt."""

import re
import subprocess
import sys

import pytest

from harness import PROJECT_DIR
from commands import entry


@pytest.mark.parametrize("gives_up", [KeyboardInterrupt, EOFError])
def test_giving_up_at_a_prompt_ends_in_one_line_with_code_130(gives_up, capsys):
    def main() -> int:
        raise gives_up()
    with pytest.raises(SystemExit) as ended:
        entry.run(main)
    assert ended.value.code == 130
    assert capsys.readouterr().err == "\nstopped: nothing more was done\n"


def test_main_s_code_is_the_exit_code():
    with pytest.raises(SystemExit) as ended:
        entry.run(lambda: 3)
    assert ended.value.code == 3


def test_every_script_a_make_target_runs_ends_through_it():
    makefile = (PROJECT_DIR / "Makefile").read_text()
    scripts = sorted(set(re.findall(r"commands/(\w+)\.py", makefile)))
    assert {"stack", "check", "daytoday", "drop_data", "tunnel"} <= set(scripts)
    for name in scripts:
        text = (PROJECT_DIR / "commands" / f"{name}.py").read_text()
        assert text.rstrip().endswith('if __name__ == "__main__":\n    from commands import entry\n    entry.run(main)'), name


def test_ctrl_c_at_the_passphrase_prompt_of_a_real_script_is_one_line(tmp_path):
    # a script run as make runs it, interrupted where it would ask: no traceback
    code = ("import sys; sys.argv = ['drop_data.py', '--help']; "
            "from commands import entry\n"
            "def main():\n    raise KeyboardInterrupt\n"
            "entry.run(main)")
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True,
                            env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 130 and "Traceback" not in result.stderr
    assert result.stderr.strip() == "stopped: nothing more was done"
