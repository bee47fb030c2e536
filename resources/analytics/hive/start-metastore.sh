#!/bin/bash
# Starts the Hive Metastore (catalog: hive) through the image's own entrypoint, which
# makes the metastore's schema in its database before it starts, unless IS_RESUME is
# true. Hive 3's schema tool refuses to make a schema that exists, so on every start
# after the first (the schema is kept with Postgres's data) the entrypoint is told to
# resume instead. `schematool -info` succeeds only when the schema exists.
set -u

if "$HIVE_HOME/bin/schematool" -dbType "$DB_DRIVER" -info >/dev/null 2>&1; then
  echo "start-metastore: the metastore's schema exists; starting on it"
  export IS_RESUME=true
else
  echo "start-metastore: no metastore schema yet; the entrypoint makes it"
  export IS_RESUME=false
fi
exec /entrypoint.sh
