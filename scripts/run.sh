#!/usr/bin/env bash
# Migrate the configured database and serve HTTP + WebSocket on 127.0.0.1:8000 with the
# production server (perpetua/server.py: uvicorn), so development runs what production runs.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f .env ]; then
  # Local development settings shared by the server and manage.py commands (issue_token, ...).
  printf '# Local development (created by `make run`; see .env.example for every variable)\nDEBUG=true\n' > .env
  echo "Created .env with DEBUG=true for local development."
fi
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
.venv/bin/python manage.py migrate --noinput -v0
cat <<MSG

Perpetua is starting on http://$HOST:$PORT
  Swagger UI : http://$HOST:$PORT/api/v1/docs/
  Schema     : http://$HOST:$PORT/api/v1/schema/
  Admin      : http://$HOST:$PORT/admin/   (create a login: .venv/bin/python manage.py createsuperuser)
  Health     : http://$HOST:$PORT/api/v1/health/live
  A token    : .venv/bin/python manage.py issue_token me@example.com [--pro]
               then: curl -H "Authorization: Bearer <access_token>" http://$HOST:$PORT/api/v1/users/me

MSG
exec .venv/bin/python -m perpetua.server --host "$HOST" --port "$PORT"
