#!/usr/bin/env bash
# A/B of application CPU per request type, in-process (bench/cpu_per_op.py), on one seeded
# database: `bench/ab.sh [REF] [ROUNDS]` exports REF (default main) to a temporary directory
# and runs cpu_per_op.py there and in this tree alternately ROUNDS times (default 3), with
# the benchmark's environment (DEBUG off, Redis auth cache, rate limits off). Both trees
# share this tree's .venv and the database, so REF must have the same migrations.
set -euo pipefail
cd "$(dirname "$0")/.."
REF="${1:-main}" ROUNDS="${2:-3}"
if [ -z "${DATABASE_URL:-}" ]; then
  scripts/ensure-redis.sh
  exec scripts/with-postgres.sh "$0" "$@"
fi
PY="$PWD/.venv/bin/python"
work=$(mktemp -d /tmp/perpetua-ab.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
git archive "$REF" | tar -x -C "$work" --one-top-level=ref
export DEBUG=false SECRET_KEY=bench-secret LOG_LEVEL=WARNING ALLOWED_HOSTS='*' JWT_ACCESS_TTL_MINUTES=240 \
  RATE_LIMIT_GENERAL=0 RATE_LIMIT_AI=0 RATE_LIMIT_AUTH=0 FREE_MAX_TASKS=1000000 JWT_KEY_ID=bench
export JWT_PRIVATE_KEY="$(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null)"
export JWT_PUBLIC_KEY="$(printf '%s' "$JWT_PRIVATE_KEY" | openssl rsa -pubout 2>/dev/null)"
redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
export REDIS_URL="redis://127.0.0.1:$redis_port/0" BENCH_TOKENS="$work/tokens.txt"
$PY manage.py migrate --noinput -v0
$PY manage.py shell -v0 -c "exec(open('bench/seed_mixed.py').read())"
for round in $(seq "$ROUNDS"); do
  for side in ref this; do
    dir=$([ "$side" = ref ] && echo "$work/ref" || echo "$PWD")
    echo "### round $round: $side ($([ "$side" = ref ] && echo "$REF" || git rev-parse --short HEAD)+worktree)"
    (cd "$dir" && CPU_PER_OP_N="${CPU_PER_OP_N:-200}" $PY manage.py shell -v0 -c "exec(open('bench/cpu_per_op.py').read())" | tail -1)
  done
done
