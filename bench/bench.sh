#!/usr/bin/env bash
# `make bench`: the mixed workload of ../shared/bench against the production server, one command.
#
# A throwaway PostgreSQL (scripts/with-postgres.sh) and Redis, the server exactly as the
# README's Production section runs it (`python -m perpetua.server`, DEBUG off, pooled
# PostgreSQL, REDIS_URL) pinned to core 1, the reference data (200 users x 30 tasks), the
# harness (bench/harness, a copy of ../shared/bench with server CPU per request added) on
# core 0, then the SQL of each request type. Settings:
#   LEVELS=10,50,200 DURATION=20 WARMUP=5   the reference levels and times
#   BENCH_REDIS=0                           no Redis: local-memory cache, no auth cache
#   SERVER_CPU=1 LOAD_CPU=0                 the cores to pin the server and wrk to
# Results: bench/results/bench-<time>.{txt,json}.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
scripts/ensure-redis.sh
exec scripts/with-postgres.sh bench/_bench_inner.sh
