#!/usr/bin/env bash
# The production-switch tests (REDIS_URL) start their own redis-server on 127.0.0.1:
# install Debian's package when it is missing and we are allowed to.
set -euo pipefail
command -v redis-server >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get install -y -qq redis-server >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq redis-server >/dev/null; }) \
    && systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
command -v redis-server >/dev/null 2>&1 || echo "warning: redis-server not installed; the REDIS_URL tests will fail" >&2
