"""The download steps as command resources, under mocks."""

import json
import shlex

import pytest
import yaml

from harness import COMMAND, PROJECT_DIR, run_program

GROUPS = ("kafka-connectors", "flink-connectors", "pyflink-jars")


@pytest.fixture(scope="module")
def run():
    return run_program()


def args_of(command: str) -> list[str]:
    return shlex.split(command)


@pytest.mark.parametrize("group", GROUPS)
def test_each_group_is_one_download_step(run, group):
    step = run.one(COMMAND, f"download-{group}")
    spec = json.loads(step["stdin"])
    assert spec["group"] == group
    assert [a["name"] for a in spec["artifacts"]] == [e["name"] for e in yaml.safe_load(
        (PROJECT_DIR / "resources/downloads.yaml").read_text())[group]]
    assert step["triggers"] == [step["stdin"]]  # the group's entries, nothing else
    create = args_of(step["create"])
    assert create[:2] == ["python3", "scripts/fetch.py"] and step["dir"] == str(PROJECT_DIR)
    assert create[create.index("--spec") + 1] == "-"
    dest = create[create.index("--dest") + 1]
    assert args_of(step["delete"]) == ["python3", "scripts/fetch.py", "--dest", dest, "--remove"]
    cache = create[create.index("--cache") + 1]
    assert cache.endswith("/factorhouse-local")  # the user's cache folder by default
    assert "--mirror" not in create


def test_cache_and_mirror_settings(tmp_path):
    run = run_program({"downloadCache": str(tmp_path / "cache"), "downloadMirror": "https://mirror.corp/dl/"})
    create = args_of(run.one(COMMAND, "download-pyflink-jars")["create"])
    assert create[create.index("--cache") + 1] == str(tmp_path / "cache")
    assert create[create.index("--mirror") + 1] == "https://mirror.corp/dl"


def test_changing_one_version_changes_that_group_only(run, monkeypatch, tmp_path):
    import engines.steps as steps
    manifest = yaml.safe_load((PROJECT_DIR / "resources/downloads.yaml").read_text())
    manifest["flink-connectors"][1]["url"] = manifest["flink-connectors"][1]["url"].replace("0.5.3", "0.5.4")
    changed = tmp_path / "downloads.yaml"
    changed.write_text(yaml.safe_dump(manifest))
    monkeypatch.setattr(steps, "MANIFEST", changed)
    after = run_program()
    for group in GROUPS:
        same = run.one(COMMAND, f"download-{group}")["triggers"] == after.one(COMMAND, f"download-{group}")["triggers"]
        assert same == (group != "flink-connectors"), group
    # and the image that carries it is rebuilt, which replaces the containers that run it
    for bake, changed in (("build-flink-connectors", True), ("build-kafka-connectors", False), ("build-flink", False)):
        assert (run.one(COMMAND, bake)["triggers"] != after.one(COMMAND, bake)["triggers"]) == changed, bake


def test_images_wait_for_their_downloads_and_containers_for_their_images(run):
    assert "download-kafka-connectors" in run.depends_on(run.one(COMMAND, "build-kafka-connectors"))
    assert "build-kafka-connectors" in run.depends_on(run.container("connect"))
    assert "download-flink-connectors" in run.depends_on(run.one(COMMAND, "build-flink-connectors"))
    for name in ("jobmanager", "taskmanager-1", "sql-gateway"):
        assert "build-flink-connectors" in run.depends_on(run.container(name))
    assert "download-pyflink-jars" in run.depends_on(run.one(COMMAND, "build-flink"))


def test_downloads_of_stacks_not_chosen_are_not_made():
    run = run_program({"stacks": json.dumps(["analytics", "pinot"])})
    assert [r.name for r in run.of_type(COMMAND) if not r.name.endswith("-healthy")] == []
