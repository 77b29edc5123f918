#!/usr/bin/env bash
set -euo pipefail
SERVERS="${SERVERS:-uvicorn daphne}"; LEVELS="${LEVELS:-10,50,200}"; DURATION="${DURATION:-20}"; WARMUP="${WARMUP:-5}"
PORT="${PORT:-8500}"; HARNESS="${HARNESS:-../shared/bench/run_bench.py}"
export DEBUG=false SECRET_KEY=bench-secret LOG_LEVEL=WARNING ALLOWED_HOSTS='*' JWT_ACCESS_TTL_MINUTES=240 \
  RATE_LIMIT_GENERAL=0 RATE_LIMIT_AI=0 RATE_LIMIT_AUTH=0 FREE_MAX_TASKS=1000000
export JWT_PRIVATE_KEY="$(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null)"
export JWT_PUBLIC_KEY="$(printf '%s' "$JWT_PRIVATE_KEY" | openssl rsa -pubout 2>/dev/null)"
export JWT_KEY_ID=bench
PY=.venv/bin/python
$PY manage.py migrate --noinput -v0
export BENCH_TOKENS; BENCH_TOKENS=$(mktemp /tmp/bench-tokens.XXXXXX)
$PY manage.py shell -c "exec(open('bench/seed_mixed.py').read())"
mkdir -p bench/results
stamp=$(date -u +%Y%m%dT%H%M%SZ)
for server in $SERVERS; do
  case $server in
    uvicorn) cmd=("$PY" -m perpetua.server --host 127.0.0.1 --port "$PORT") ;;
    daphne) cmd=(.venv/bin/daphne -b 127.0.0.1 -p "$PORT" perpetua.asgi:application) ;;
    # uvicorn without perpetua/server.py's protocol (limits, deadlines): what they cost
    uvicorn-plain) cmd=(.venv/bin/uvicorn perpetua.asgi:application --host 127.0.0.1 --port "$PORT" --loop uvloop \
      --http httptools --lifespan off --no-access-log) ;;
    *) echo "unknown server: $server" >&2; exit 2 ;;
  esac
  taskset -c 1 "${cmd[@]}" >"/tmp/bench-$server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/api/v1/health/live" >/dev/null && break; sleep 0.2; done
  python3 "$HARNESS" --base-url "http://127.0.0.1:$PORT/api/v1" --tokens "$BENCH_TOKENS" --levels "$LEVELS" \
    --duration "$DURATION" --warmup "$WARMUP" --lg-cpu 0 --server-pid "$pid" --label "$server" \
    --out "bench/results/mixed-$server-$stamp.json" | tee "bench/results/mixed-$server-$stamp.txt"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
rm -f "$BENCH_TOKENS"
