#!/usr/bin/env bash
# Run a command with DATABASE_URL pointing at PostgreSQL. When DATABASE_URL is unset,
# start a throwaway cluster (as the `postgres` user when root, since initdb refuses
# root) on 127.0.0.1 and a free port, and remove it afterwards, even on failure.
set -euo pipefail
if [ -n "${DATABASE_URL:-}" ]; then
  exec "$@"
fi
PG_BIN="${PG_BIN:-$(dirname "$(readlink -f "$(command -v pg_ctl)")")}"
tmp=$(mktemp -d /tmp/perpetua-pg.XXXXXX)
as_pg=()
if [ "$(id -u)" = "0" ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$tmp"
  as_pg=(runuser -u postgres --)
fi
cleanup() {
  "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as_pg[@]}" "$PG_BIN/initdb" -D "$tmp/data" -U postgres -A trust --no-sync -E UTF8 >"$tmp/initdb.log" 2>&1 \
  || { cat "$tmp/initdb.log"; exit 1; }
"${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$tmp/data" -l "$tmp/postgres.log" -w -o \
  "-h 127.0.0.1 -p $port -k $tmp -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
  start >/dev/null || { cat "$tmp/postgres.log"; exit 1; }
"$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres perpetua
export DATABASE_URL="postgres://postgres@127.0.0.1:$port/perpetua"
set +e
"$@"
status=$?
set -e
exit $status
