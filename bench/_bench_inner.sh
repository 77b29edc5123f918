#!/usr/bin/env bash
# Inside scripts/with-postgres.sh (DATABASE_URL set): see bench/bench.sh.
set -euo pipefail
LEVELS="${LEVELS:-10,50,200}"; DURATION="${DURATION:-20}"; WARMUP="${WARMUP:-5}"
SERVER_CPU="${SERVER_CPU:-1}"; LOAD_CPU="${LOAD_CPU:-0}"; BENCH_REDIS="${BENCH_REDIS:-1}"
PY=.venv/bin/python
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pids=()
work=$(mktemp -d /tmp/perpetua-bench.XXXXXX)
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# The reference setup (../shared/bench/README.md): rate limits off, the free task cap raised.
export DEBUG=false SECRET_KEY=bench-secret LOG_LEVEL=WARNING ALLOWED_HOSTS='*' JWT_ACCESS_TTL_MINUTES=240 \
  RATE_LIMIT_GENERAL=0 RATE_LIMIT_AI=0 RATE_LIMIT_AUTH=0 FREE_MAX_TASKS=1000000
export JWT_PRIVATE_KEY="$(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null)"
export JWT_PUBLIC_KEY="$(printf '%s' "$JWT_PRIVATE_KEY" | openssl rsa -pubout 2>/dev/null)"
export JWT_KEY_ID=bench
if [ "$BENCH_REDIS" = 1 ]; then
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  export REDIS_URL="redis://127.0.0.1:$redis_port/0"
fi

$PY manage.py migrate --noinput -v0
export BENCH_TOKENS="$work/tokens.txt"
$PY manage.py shell -v0 -c "exec(open('bench/seed_mixed.py').read())"

port=$(free_port)
taskset -c "$SERVER_CPU" $PY -m perpetua.server --host 127.0.0.1 --port "$port" >"$work/server.log" 2>&1 &
server=$!
pids+=("$server")
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/v1/health/live" >/dev/null && break; sleep 0.2; done

mkdir -p bench/results
out="bench/results/bench-$(date -u +%Y%m%dT%H%M%SZ)"
if [ -n "${PROFILE:-}" ]; then
  # py-spy on the server for the whole run (--gil: only what holds the interpreter), folded stacks.
  [ -x .venv/bin/py-spy ] || .venv/bin/pip install --quiet --disable-pip-version-check py-spy
  .venv/bin/py-spy record --gil --nonblocking --rate 200 --format raw --output "$out.profile.txt" --pid "$server" \
    >"$work/py-spy.log" 2>&1 &
  pids+=($!)
  profiler=$!
fi
{
  echo "# make bench, $(date -u +%Y-%m-%dT%H:%MZ): $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))," \
    "server on core $SERVER_CPU, wrk on core $LOAD_CPU, PostgreSQL $(postgres --version 2>/dev/null | awk '{print $3}' || true)" \
    "on loopback, Redis: $([ "$BENCH_REDIS" = 1 ] && echo yes || echo no), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  python3 bench/harness/run_bench.py --base-url "http://127.0.0.1:$port/api/v1" --tokens "$BENCH_TOKENS" \
    --levels "$LEVELS" --duration "$DURATION" --warmup "$WARMUP" --lg-cpu "$LOAD_CPU" --server-pid "$server" \
    --label "perpetua.server" --out "$out.json" | sed -n '/^## /,$p'
  if [ -n "${PROFILE:-}" ]; then
    kill -INT "$profiler" 2>/dev/null || true; wait "$profiler" 2>/dev/null || true
    echo; echo "## Profile (py-spy --gil, whole run): inclusive share of the samples"; echo
    python3 bench/profile_top.py "$out.profile.txt" "${PROFILE_PATTERN:-perpetua|accounts|tasks|django/core|rest_framework/views|psycopg/cursor|renderers|middleware|uvicorn}" | head -60
  fi
  $PY manage.py shell -v0 -c "exec(open('bench/queries.py').read())"
  CPU_PER_OP_N="${CPU_PER_OP_N:-100}" $PY manage.py shell -v0 -c "exec(open('bench/cpu_per_op.py').read())"
  if grep -q -E "Traceback|ERROR" "$work/server.log"; then echo; echo "server log:"; tail -20 "$work/server.log"; fi
} | tee "$out.txt"
echo "results: $out.txt"
