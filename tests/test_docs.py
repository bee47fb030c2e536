"""The README documents every setting, and the commands it names exist."""

import re
import subprocess
import sys

import yaml

from harness import PROJECT_DIR

README = (PROJECT_DIR / "README.md").read_text()


def test_every_setting_is_in_the_readme_table_with_its_default():
    declared = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]
    settings = README.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(\w+)` \| ([^|]+) \|", settings, re.M)}
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


def make_targets() -> set[str]:
    targets = set(re.findall(r"^([\w -]+):", (PROJECT_DIR / "Makefile").read_text(), re.M))
    return {t for line in targets for t in line.split()}


def test_the_readme_commands_are_make_targets():
    targets = make_targets()
    assert "drop-data" in targets
    for command in set(re.findall(r"make ([\w-]*\w)", README)):
        assert command in targets, command


def test_make_help_lists_every_described_target():
    described = re.findall(r"^([a-z][\w-]*):.*## (.+)$", (PROJECT_DIR / "Makefile").read_text(), re.M)
    shown = subprocess.run(["make", "--no-print-directory", "help"], cwd=PROJECT_DIR, capture_output=True,
                           text=True, check=True).stdout
    listed = dict(re.findall(r"^  make (\S+) +(.+)$", shown, re.M))
    assert listed == dict(described)


def test_the_benchmark_runs_and_its_warm_run_makes_no_request():
    result = subprocess.run([sys.executable, "bench/bench_downloads.py", "--artifacts", "4", "--size-kib", "64",
                             "--latency-ms", "20", "--kib-per-s", "8192"],
                            capture_output=True, text=True, cwd=PROJECT_DIR, timeout=120)
    assert result.returncode == 0, result.stderr
    assert re.search(r"warm .* 0 requests", result.stdout), result.stdout


def test_the_start_up_benchmark_runs_and_our_chain_is_faster():
    import engine
    engine.need(engine.engine_problem(), "a Docker engine")
    result = subprocess.run([sys.executable, "bench/bench_health_chain.py", "--interval", "3", "--links", "2"],
                            capture_output=True, text=True, cwd=PROJECT_DIR, timeout=120)
    assert result.returncode == 0, result.stderr
    theirs = float(re.search(r"Docker's status.*?([\d.]+) s", result.stdout).group(1))
    ours = float(re.search(r"our gate.*?([\d.]+) s", result.stdout).group(1))
    assert ours < theirs, result.stdout


SERVICES_DOC = (PROJECT_DIR / "docs/services.md").read_text()
# the section of the services that `catalog: hive` runs in place of the REST catalog's
HIVE_SECTION = "## The Hive Metastore (`catalog: hive`)"


def documented_services(text: str) -> dict[str, tuple[str, str, set[str]]]:
    """service -> (image, container, {"host:container", ...}) of the tables in `text`."""
    rows = re.findall(r"^\| `([\w-]+)` \| `([^`]+)`[^|]*\| `([^`]+)`[^|]*\| ([^|]+) \|$", text, re.M)
    return {name: (image, container, set(re.findall(r"`(\d+:\d+)`", ports))) for name, image, container, ports in rows}


def sections() -> tuple[str, str]:
    """docs/services.md without the Hive Metastore's section, and that section."""
    before, rest = SERVICES_DOC.split(HIVE_SECTION)
    hive, after = rest.split("\n## ", 1)
    return before + "\n## " + after, hive


def made_as_documented(run, documented: dict) -> None:
    for name, (image, container, ports) in documented.items():
        assert run.image_of(name) == image, name
        assert run.container(name)["name"] == container, name
        assert {f"{host}:{inside}" for _, host, inside in run.ports(name)} == ports, name


def test_every_documented_service_is_made_as_documented_and_nothing_else():
    import json
    from harness import run_program
    from stacks.settings import STACKS
    run = run_program({"stacks": json.dumps(list(STACKS))})
    documented = documented_services(sections()[0])
    assert set(documented) == set(run.containers)
    made_as_documented(run, documented)


def test_with_the_hive_metastore_its_documented_services_replace_the_rest_catalogs():
    import json
    from harness import run_program
    from stacks.settings import STACKS
    run = run_program({"catalog": "hive", "stacks": json.dumps(list(STACKS))})
    default, hive = (documented_services(part) for part in sections())
    assert set(run.containers) == set(default) - {"rest"} | set(hive)
    made_as_documented(run, hive)


def test_the_project_stands_alone():
    # the facts it relies on are in docs/, not in files outside the repository
    for path in PROJECT_DIR.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".md", ".yaml", ".yml", ".sh", "") and "venv" not in path.parts \
                and ".git" not in path.parts and path.stat().st_size < 1_000_000:
            text = path.read_text(errors="replace")
            for outside in ("SPEC" + ".md", "../" + "shared", "PULUMI" + "-NOTES"):
                assert outside not in text, (path, outside)


def test_the_layout_names_every_module():
    layout = (PROJECT_DIR / "docs/layout.md").read_text()
    modules = [p for folder in ("stacks", "engines", "scripts", "tests", "bench", "docs") for p in (PROJECT_DIR / folder).iterdir()
               if p.suffix in (".py", ".md") and p.name != "__init__.py"]
    missing = [f"{p.parent.name}/{p.name}" for p in modules if f"`{p.name}`" not in layout]
    assert not missing, missing


def test_every_third_party_import_is_pinned_in_requirements():
    # a fresh clone installs requirements.txt and nothing else
    import ast
    import importlib.metadata
    pinned = {line.split("==")[0].lower().replace("_", "-") for line in
              (PROJECT_DIR / "requirements.txt").read_text().split() if "==" in line}
    assert all("==" in line for line in (PROJECT_DIR / "requirements.txt").read_text().split())
    local = {p.stem for p in PROJECT_DIR.rglob("*.py") if "venv" not in p.parts} | {"stacks", "engines", "scripts"}
    distributions = importlib.metadata.packages_distributions()
    missing = set()
    for path in PROJECT_DIR.rglob("*.py"):
        if "venv" in path.parts or ".git" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in local:
                    continue
                for dist in distributions.get(top, [top]):
                    if dist.lower().replace("_", "-") not in pinned:
                        missing.add((path.relative_to(PROJECT_DIR).as_posix(), top, dist))
    assert not missing, sorted(missing)
