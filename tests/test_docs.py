"""The README documents every setting, and the commands it names exist."""

import re
import subprocess
import sys

import yaml

from harness import PROJECT_DIR

README = (PROJECT_DIR / "README.md").read_text()


def test_every_setting_is_in_the_readme_table_with_its_default():
    declared = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(\w+)` \| ([^|]+) \|", README, re.M)}
    assert set(declared) <= set(rows), set(declared) - set(rows)
    for key, spec in declared.items():
        default = spec.get("default", spec.get("value"))
        shown = rows[key]
        if isinstance(default, list):
            assert shown.startswith(f"`[{', '.join(default)}]`"), key
        elif isinstance(default, dict):
            assert shown.startswith("`{}`"), key
        elif default == "":
            assert shown.startswith('`""`'), key
        else:
            assert shown.startswith(f"`{str(default).lower() if isinstance(default, bool) else default}`"), key


def test_the_readme_commands_are_make_targets():
    targets = set(re.findall(r"^([\w ]+):", (PROJECT_DIR / "Makefile").read_text(), re.M))
    targets = {t for line in targets for t in line.split()}
    for command in set(re.findall(r"make (\w+)", README)):
        assert command in targets, command


def test_the_benchmark_runs_and_its_warm_run_makes_no_request():
    result = subprocess.run([sys.executable, "bench/bench_downloads.py", "--artifacts", "4", "--size-kib", "64",
                             "--latency-ms", "20", "--kib-per-s", "8192"],
                            capture_output=True, text=True, cwd=PROJECT_DIR, timeout=120)
    assert result.returncode == 0, result.stderr
    assert re.search(r"warm .* 0 requests", result.stdout), result.stdout
