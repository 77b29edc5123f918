# syntax=docker/dockerfile:1
# Build stage: resolve and build wheels for the project and its dependencies.
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY perpetua perpetua
COPY accounts accounts
COPY tasks tasks
COPY notes notes
COPY ai ai
COPY onboarding onboarding
COPY billing billing
COPY credits credits
COPY gamification gamification
COPY recovery recovery
COPY notifications notifications
RUN pip wheel --wheel-dir /wheels .

# Runtime stage: only the wheels and the project, run by an unprivileged user.
FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=perpetua.settings
RUN groupadd --system app && useradd --system --gid app --home /app app
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
COPY --chown=app:app manage.py ./
COPY --chown=app:app perpetua perpetua
COPY --chown=app:app accounts accounts
COPY --chown=app:app tasks tasks
COPY --chown=app:app notes notes
COPY --chown=app:app ai ai
COPY --chown=app:app onboarding onboarding
COPY --chown=app:app billing billing
COPY --chown=app:app credits credits
COPY --chown=app:app gamification gamification
COPY --chown=app:app recovery recovery
COPY --chown=app:app notifications notifications
USER app
EXPOSE 8000
# Migrations run as a separate release step: `docker run IMAGE python manage.py migrate`.
# The worker uses the same image: `docker run IMAGE python manage.py run_worker`.
# uvicorn (uvloop, httptools) with HTTP and WebSocket in one ASGI app, limits and deadlines
# from the HTTP_* settings (perpetua/server.py); processes: WEB_CONCURRENCY (default 1).
CMD ["python", "-m", "perpetua.server", "--host", "0.0.0.0", "--port", "8000"]
