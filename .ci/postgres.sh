#!/usr/bin/env bash
# Makes PostgreSQL server binaries available for the collector's tests. The tests start and stop
# their own throwaway server (packages/collector/test/postgres-server.ts: initdb in a temp dir, a free
# port on 127.0.0.1, as the `postgres` user when run as root), so nothing is left running here.
set -euo pipefail

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "PostgreSQL is missing and installing it needs root: apt-get install -y postgresql" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
fi

initdb_path=$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n1)
echo "PostgreSQL ready for tests: $("$initdb_path" --version)"
