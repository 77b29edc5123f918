#!/usr/bin/env bash
# The mixed-workload benchmark of ../shared/bench (list 40 / get 20 / create 15 / patch 15 /
# subtask 10; 200 users x 30 tasks) against each server, one process pinned to core 1 and wrk
# to core 0, PostgreSQL on loopback:
#   bench/mixed.sh                                  # SERVERS="uvicorn daphne", levels 10,50,200
#   SERVERS="daphne uvicorn uvicorn-plain" LEVELS=50 DURATION=20 WARMUP=5 bench/mixed.sh
# JSON results are written to bench/results/mixed-<server>-<time>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
exec scripts/with-postgres.sh bench/_mixed_inner.sh
