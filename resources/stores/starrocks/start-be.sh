#!/bin/bash
# The StarRocks backend: upstream's data cache settings added to be.conf (once: a
# restarted container finds them there), then the backend in the foreground. It is
# registered with the frontend by the platform's own one-shot (register-backend.sh),
# once it has started, never from here.
home=${BE_HOME:-/opt/starrocks/be}  # the image's; another only in tests
conf=$home/conf/be.conf
ulimit -n 65535 || echo "start-be: could not raise the open files limit to 65535; going on with $(ulimit -n)" >&2
if ! grep -q '^block_cache_enable' "$conf"; then
  {
    echo "# Enable data cache"
    echo "block_cache_enable = true"
    echo "block_cache_mem_size = 536870912"
    echo "block_cache_disk_size = 1073741824"
  } >> "$conf"
fi
exec bash "$home/bin/start_be.sh"
