#!/bin/sh
# CloudBeaver's start: its provisioned connections (conf/provision/data-sources.json, made
# by the program from the stores that run) put into its workspace as a file it may write
# (it moves their credentials into its encrypted store on first use), then the image's
# own entrypoint. The copy is made only when the program's file changed since the last
# one it put there, so a restart keeps what CloudBeaver wrote.
set -eu
home="${CLOUDBEAVER_HOME:-/opt/cloudbeaver}"
given="$home/conf/provision/data-sources.json"
target="$home/workspace/GlobalConfiguration/.dbeaver/data-sources.json"
last="$home/workspace/.provisioned-data-sources.json"
if ! cmp -s "$given" "$last" 2>/dev/null; then
  mkdir -p "$(dirname "$target")"
  cp "$given" "$target"
  cp "$given" "$last"
  chmod 600 "$target" "$last"
  # the image's user, where it has one, owns what it may write
  if id dbeaver >/dev/null 2>&1; then chown dbeaver "$target" "$last" 2>/dev/null || true; fi
fi
cd "$home"
if [ -x ./launch-product.sh ]; then exec ./launch-product.sh "$@"; fi
exec ./run-server.sh "$@"
