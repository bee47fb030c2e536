#!/bin/sh
# Registers the StarRocks backend ($BACKEND, host:heartbeat port) with the frontend
# ($FRONTEND:$QUERY_PORT, as root) and waits until the frontend sees it alive, for at
# most $ALIVE_SECONDS. It looks first and adds the backend only when the frontend does
# not list it: a second run adds nothing. Every failure is one line on stderr.
set -u
host=${BACKEND%:*}
port=${BACKEND##*:}

fail() {
  echo "starrocks-register: $*" >&2
  exit 1
}

one_line() {
  printf '%s' "$1" | tr '\n' ' ' | sed 's/  */ /g; s/ *$//'
}

sql() {
  mysql --connect-timeout=10 -h "$FRONTEND" -P "$QUERY_PORT" -u root -e "$1" 2>&1
}

# The backend's Alive column ("true" or "false"), nothing when the frontend does not list it
state() {
  printf '%s\n' "$1" | awk -v host="$host" -v port="$port" '
    /^\*+ [0-9]+\. row \*+$/ { ip = ""; heartbeat = "" }
    $1 == "IP:" { ip = $2 }
    $1 == "HeartbeatPort:" { heartbeat = $2 }
    $1 == "Alive:" && ip == host && heartbeat == port { print $2 }'
}

listing=$(sql 'SHOW BACKENDS\G') || fail "the frontend $FRONTEND:$QUERY_PORT does not answer: $(one_line "$listing")"
if [ -n "$(state "$listing")" ]; then
  echo "backend $BACKEND is registered with $FRONTEND already: nothing to add"
elif added=$(sql "ALTER SYSTEM ADD BACKEND \"$BACKEND\""); then
  echo "registered backend $BACKEND with $FRONTEND"
else
  fail "could not register backend $BACKEND with $FRONTEND: $(one_line "$added")"
fi

waited=0
while :; do
  if listing=$(sql 'SHOW BACKENDS\G') && [ "$(state "$listing")" = true ]; then
    echo "backend $BACKEND is alive"
    exit 0
  fi
  if [ "$waited" -ge "$ALIVE_SECONDS" ]; then
    fail "backend $BACKEND is registered but $FRONTEND has not seen it alive after ${ALIVE_SECONDS}s; read the backend's log"
  fi
  sleep 1
  waited=$((waited + 1))
done
