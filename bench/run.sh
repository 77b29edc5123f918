#!/usr/bin/env bash
# Single-endpoint load benchmark: N server processes (SERVER=uvicorn, the production server,
# or SERVER=daphne) on PostgreSQL, driven by wrk over loopback.
#   bench/run.sh                 # defaults: 2 processes, 20 s per scenario, 32 connections
#   PROCS=4 DURATION=30 CONNS=64 bench/run.sh
# Results (requests/s and latency per scenario) are written to bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
exec scripts/with-postgres.sh bench/_inner.sh
