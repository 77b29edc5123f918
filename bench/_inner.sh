#!/usr/bin/env bash
set -euo pipefail
SERVER="${SERVER:-uvicorn}"; PROCS="${PROCS:-2}"; DURATION="${DURATION:-20}"; CONNS="${CONNS:-32}"; BASE_PORT="${BASE_PORT:-8400}"
export DEBUG=false SECRET_KEY=bench-secret LOG_LEVEL=WARNING ALLOWED_HOSTS='*' \
  RATE_LIMIT_GENERAL=0 RATE_LIMIT_AI=0 RATE_LIMIT_AUTH=0 DATABASE_POOL_MAX_SIZE=8 PRO_MAX_TASKS=1000000
# A fixed signing key shared by every process.
export JWT_PRIVATE_KEY="$(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null)"
export JWT_PUBLIC_KEY="$(printf '%s' "$JWT_PRIVATE_KEY" | openssl rsa -pubout 2>/dev/null)"
export JWT_KEY_ID=bench
PY=.venv/bin/python
$PY manage.py migrate --noinput -v0
TOKEN=$($PY manage.py issue_token bench@example.com --pro | $PY -c 'import json,sys; d=json.load(sys.stdin); print((d.get("data") or d)["access_token"])')
$PY manage.py shell -c "exec(open('bench/seed.py').read())"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for i in $(seq 0 $((PROCS-1))); do
  if [ "$SERVER" = daphne ]; then
    .venv/bin/daphne -b 127.0.0.1 -p $((BASE_PORT+i)) perpetua.asgi:application >/tmp/bench-server-$i.log 2>&1 &
  else
    $PY -m perpetua.server --host 127.0.0.1 --port $((BASE_PORT+i)) >/tmp/bench-server-$i.log 2>&1 &
  fi
  pids+=($!)
done
for i in $(seq 0 $((PROCS-1))); do
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$((BASE_PORT+i))/api/v1/health/live" >/dev/null && break; sleep 0.2; done
done
mkdir -p bench/results
out="bench/results/$(date -u +%Y%m%dT%H%M%SZ).txt"
TASK_ID=$(curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$BASE_PORT/api/v1/tasks?limit=1" | $PY -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
export TOKEN TASK_ID
run() {  # name, lua script, path
  local name=$1 script=$2 path=$3 per=$((CONNS / PROCS)) total=0
  [ "$per" -ge 1 ] || per=1
  local wrks=()
  for i in $(seq 0 $((PROCS-1))); do
    wrk -t1 -c"$per" -d"${DURATION}s" -s "bench/$script" "http://127.0.0.1:$((BASE_PORT+i))$path" >"/tmp/bench-$name-$i.txt" 2>&1 &
    wrks+=($!)
  done
  wait "${wrks[@]}"
  rps=$(cat /tmp/bench-"$name"-*.txt | awk '/Requests\/sec/ {s+=$2} END {printf "%.0f", s}')
  lat=$(awk '/Latency/ {print $2; exit}' "/tmp/bench-$name-0.txt")
  non2xx=$(cat /tmp/bench-"$name"-*.txt | awk '/Non-2xx/ {s+=$NF} END {print s+0}')
  printf '%-22s %8s req/s   avg latency %-8s non-2xx %s\n' "$name" "$rps" "$lat" "$non2xx" | tee -a "$out"
}
echo "server=$SERVER procs=$PROCS conns=$CONNS duration=${DURATION}s" | tee "$out"
run health_live get.lua /api/v1/health/live
run users_me get.lua /api/v1/users/me
run tasks_list get.lua "/api/v1/tasks?limit=25"
run tasks_list_100 get.lua "/api/v1/tasks?limit=100"
run task_detail get.lua "/api/v1/tasks/$TASK_ID"
run task_create post_task.lua /api/v1/tasks
echo "results: $out"
