"""resources/stores/starrocks-register/register-backend.sh and
resources/stores/starrocks/start-be.sh, run for real: the registration with a stand-in
`mysql` that keeps the frontend's backends in a file and answers as StarRocks does
(SHOW BACKENDS\\G, ALTER SYSTEM ADD BACKEND and its errors); the backend's start with a
stand-in StarRocks home. A second run registers nothing and adds nothing, and every
failure is one line."""

import os
import subprocess

import pytest

from harness import PROJECT_DIR, stand_in

REGISTER = PROJECT_DIR / "resources/stores/starrocks-register/register-backend.sh"
START_BE = PROJECT_DIR / "resources/stores/starrocks/start-be.sh"

# backends: lines "host:port"; the frontend sees starrocks-be alive from the
# $ALIVE_AFTER-th SHOW BACKENDS on ("never": never), other backends never
FAKE_MYSQL = r"""#!/bin/sh
echo "$*" >> "$CALLS"
sql=""
while [ $# -gt 0 ]; do
  case "$1" in
    -e) sql=$2; shift 2 ;;
    -h|-P|-u) shift 2 ;;
    *) shift ;;
  esac
done
if [ -n "${FE_DOWN:-}" ]; then
  echo "ERROR 2003 (HY000): Can't connect to MySQL server on 'starrocks-fe:9030' (111)" >&2
  exit 1
fi
touch "$STATE/backends"
case "$sql" in
  'SHOW BACKENDS\G')
    shows=$(( $(cat "$STATE/shows" 2>/dev/null || echo 0) + 1 )); echo "$shows" > "$STATE/shows"
    n=0
    while IFS=: read -r host port; do
      n=$((n + 1))
      alive=false
      if [ "$host:$port" = starrocks-be:9050 ] && [ "$ALIVE_AFTER" != never ] && [ "$shows" -ge "$ALIVE_AFTER" ]; then
        alive=true
      fi
      echo "*************************** $n. row ***************************"
      echo "            BackendId: 1000$n"
      echo "                   IP: $host"
      echo "        HeartbeatPort: $port"
      echo "               BePort: 9060"
      echo "        LastHeartbeat: NULL"
      echo "                Alive: $alive"
      echo "               ErrMsg: "
    done < "$STATE/backends"
    ;;
  'ALTER SYSTEM ADD BACKEND "'*)
    backend=${sql#*\"}; backend=${backend%\"}
    if [ -n "${ADD_ERROR:-}" ]; then echo "$ADD_ERROR" >&2; exit 1; fi
    if grep -qx "$backend" "$STATE/backends"; then
      echo "ERROR 1064 (HY000) at line 1: Same backend already exists[$backend]" >&2; exit 1
    fi
    echo "$backend" >> "$STATE/backends"
    ;;
  *) echo "ERROR 1064 (HY000): unexpected statement: $sql" >&2; exit 1 ;;
esac
"""


@pytest.fixture
def frontend(tmp_path):
    bin_dir = stand_in(tmp_path, "mysql", FAKE_MYSQL)
    state = tmp_path / "state"
    state.mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "STATE": str(state),
           "CALLS": str(tmp_path / "calls"), "ALIVE_AFTER": "1",
           "FRONTEND": "starrocks-fe", "QUERY_PORT": "9030", "BACKEND": "starrocks-be:9050", "ALIVE_SECONDS": "5"}
    return state, env, tmp_path / "calls"


def register(env, **more):
    return subprocess.run(["/bin/sh", str(REGISTER)], env={**env, **more}, capture_output=True, text=True,
                          timeout=60)


def adds(calls) -> list[str]:
    return [line for line in calls.read_text().splitlines() if "ADD BACKEND" in line]


def test_registers_the_backend_once_and_a_second_run_adds_nothing(frontend):
    state, env, calls = frontend
    first = register(env)
    assert first.returncode == 0, first.stderr
    assert (state / "backends").read_text().splitlines() == ["starrocks-be:9050"]
    assert first.stdout.splitlines() == ["registered backend starrocks-be:9050 with starrocks-fe",
                                         "backend starrocks-be:9050 is alive"]
    second = register(env)
    assert second.returncode == 0, second.stderr
    assert (state / "backends").read_text().splitlines() == ["starrocks-be:9050"]
    assert len(adds(calls)) == 1  # looked first: no second ADD, not even a refused one
    assert second.stdout.splitlines()[0] == \
        "backend starrocks-be:9050 is registered with starrocks-fe already: nothing to add"
    # every call goes to the frontend's MySQL port as root
    for line in calls.read_text().splitlines():
        assert line.startswith("--connect-timeout=10 -h starrocks-fe -P 9030 -u root -e "), line


def test_other_backends_are_not_taken_for_ours(frontend):
    state, env, calls = frontend
    (state / "backends").write_text("starrocks-be:9051\nother-be:9050\n")
    assert register(env).returncode == 0
    assert (state / "backends").read_text().splitlines() == ["starrocks-be:9051", "other-be:9050",
                                                              "starrocks-be:9050"]


def test_waits_until_the_frontend_sees_the_backend_alive(frontend):
    state, env, _ = frontend
    result = register(env, ALIVE_AFTER="3")
    assert result.returncode == 0, result.stderr
    assert int((state / "shows").read_text()) == 3


@pytest.mark.parametrize("more, said", [
    ({"FE_DOWN": "1"}, "starrocks-register: the frontend starrocks-fe:9030 does not answer: ERROR 2003 (HY000): "
                       "Can't connect to MySQL server on 'starrocks-fe:9030' (111)"),
    ({"ADD_ERROR": "ERROR 1064 (HY000): Unknown host starrocks-be"},
     "starrocks-register: could not register backend starrocks-be:9050 with starrocks-fe: "
     "ERROR 1064 (HY000): Unknown host starrocks-be"),
    ({"ALIVE_AFTER": "never", "ALIVE_SECONDS": "2"},
     "starrocks-register: backend starrocks-be:9050 is registered but starrocks-fe has not seen it alive after 2s; "
     "read the backend's log"),
])
def test_a_failure_says_so_in_one_line(frontend, more, said):
    _, env, _ = frontend
    result = register(env, **more)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [said]


def test_the_backend_gets_the_data_cache_settings_once_and_starts_in_the_foreground(tmp_path):
    home = tmp_path / "be"
    (home / "conf").mkdir(parents=True)
    (home / "bin").mkdir()
    (home / "conf/be.conf").write_text("be_port = 9060\nheartbeat_service_port = 9050\n")
    (home / "bin/start_be.sh").write_text('echo "started as $$"\n')
    for _ in range(2):  # a restarted container runs it again
        result = subprocess.run(["/bin/bash", str(START_BE)], env={**os.environ, "BE_HOME": str(home)},
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("started as ")
    assert (home / "conf/be.conf").read_text() == (
        "be_port = 9060\nheartbeat_service_port = 9050\n"
        "# Enable data cache\nblock_cache_enable = true\nblock_cache_mem_size = 536870912\n"
        "block_cache_disk_size = 1073741824\n")
