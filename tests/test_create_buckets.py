"""resources/analytics/minio/create-buckets.sh, run for real with a stand-in `mc` that
keeps buckets as folders and records every call: the script creates what is missing,
sets anonymous read access, and never removes a bucket or an object."""

import os
import subprocess

import pytest

from harness import stand_in, PROJECT_DIR

SCRIPT = PROJECT_DIR / "resources/analytics/minio/create-buckets.sh"

FAKE_MC = r"""#!/bin/sh
# stand-in for mc: buckets are folders under $STORE, calls are appended to $CALLS
echo "$*" >> "$CALLS"
case "$1" in
  alias) [ "$2" = set ] && [ "$6" = "$EXPECTED_PASSWORD" ] || { echo "bad credentials" >&2; exit 1; } ;;
  mb)
    [ "$2" = --ignore-existing ] || { echo "mb without --ignore-existing" >&2; exit 1; }
    bucket="${3#platform/}"
    [ -d "$STORE/$bucket" ] || mkdir "$STORE/$bucket" ;;
  anonymous) bucket="${4#platform/}"; echo "$3" > "$STORE/$bucket.policy" ;;
  *) echo "unexpected mc call: $*" >&2; exit 1 ;;
esac
"""


@pytest.fixture
def world(tmp_path):
    bin_dir = stand_in(tmp_path, "mc", FAKE_MC)
    store = tmp_path / "store"
    store.mkdir()
    env = {
        **os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "STORE": str(store), "CALLS": str(tmp_path / "calls"),
        "EXPECTED_PASSWORD": "password", "MINIO_URL": "http://minio:9000", "MINIO_ROOT_USER": "admin",
        "MINIO_ROOT_PASSWORD": "password", "BUCKETS": "warehouse factorhouse",
    }
    return store, env, tmp_path / "calls"


def run_script(env):
    return subprocess.run(["/bin/sh", str(SCRIPT)], env=env, capture_output=True, text=True)


def test_creates_missing_buckets_with_anonymous_read(world):
    store, env, calls = world
    result = run_script(env)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in store.iterdir()) == ["factorhouse", "factorhouse.policy", "warehouse", "warehouse.policy"]
    assert (store / "warehouse.policy").read_text().strip() == "download"
    assert calls.read_text().splitlines()[0] == "alias set platform http://minio:9000 admin password"


def test_keeps_existing_buckets_and_their_objects(world):
    store, env, calls = world
    (store / "warehouse").mkdir()
    (store / "warehouse" / "table.parquet").write_text("data")
    assert run_script(env).returncode == 0
    assert run_script(env).returncode == 0  # and again: nothing changes
    assert (store / "warehouse" / "table.parquet").read_text() == "data"
    verbs = {line.split()[0] for line in calls.read_text().splitlines()}
    assert verbs == {"alias", "mb", "anonymous"}  # no rb, rm or anything else


def test_stops_on_bad_credentials(world):
    store, env, _ = world
    result = run_script({**env, "MINIO_ROOT_PASSWORD": "wrong"})
    assert result.returncode != 0 and list(store.iterdir()) == []
