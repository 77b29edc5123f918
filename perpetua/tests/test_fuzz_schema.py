"""Property-based fuzzing of every operation of the OpenAPI schema (issue 13, "Hostile input").

schemathesis generates requests from the project's own drf-spectacular schema (built
in-process, as `/api/v1/schema/` serves it) — valid ones and invalid ones (wrong types,
missing fields, values out of range, malformed parameters) — and sends them to the Django
WSGI application in-process, authenticated as a real Pro user with credits and a few rows
of their own (a task with a subtask and a reminder, a template, a note, a notification, a
tombstone, an open focus session). Path ids, body ids (`task_id`, `note_id`, ...) and the
refresh token are swapped for those real ones in about half the examples, so the
operations get past "not found" as well. Every response must:

- not be a server error (no 5xx);
- have a status code the operation documents;
- have the documented content type;
- match the documented body schema for that status (errors: the `Error` component);
- carry the documented headers.

The outside services are the suite's fakes on 127.0.0.1 (OpenAI-compatible API,
Deepgram, Checkout.com, Google's certs), so no example reaches the internet and the AI
and payment operations answer as they would in production. Rate limits are off (every
example would otherwise soon be a 429); `perpetua/tests/test_ratelimit.py` tests them,
and the schema documents the 429 on every rate-limited operation.

The rows are made once per module (in a transaction rolled back at its end); each example
runs in a savepoint rolled back afterwards, with a clean cache, so every example sees the
same rows and the run is reproducible (`derandomize=True`). `FUZZ_EXAMPLES` (default 8)
is the most examples hypothesis generates per operation, e.g.
`FUZZ_EXAMPLES=500 make test PYTEST_ARGS="perpetua/tests/test_fuzz_schema.py"`.

Every operation of the schema is fuzzed. Not in the schema, so not here: the voice
WebSocket (`/api/v1/ws/voice/transcribe`: not an OpenAPI operation, and WSGI carries no
WebSocket; ai/tests/test_voice_relay.py covers it), `/metrics` (outside `/api/v1/`) and
the schema and docs views themselves.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck
from hypothesis import strategies as st
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import User
from accounts.tests.conftest import CLIENT_ID, FakeGoogle
from ai.tests.fake_deepgram import serve_fake_deepgram
from ai.tests.fake_openai import FakeOpenAI
from billing.tests.conftest import WEBHOOK_SECRET
from billing.tests.fake_checkout import FakeCheckout
from credits.services import credits_admin_grant
from notifications.services import notification_create

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

# The schema `/api/v1/schema/` serves, generated from the code in-process.
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))


# --- outside services: the suite's fakes on 127.0.0.1 ---------------------------------------


@pytest.fixture(scope="module")
def fakes():
    llm, checkout, google = FakeOpenAI().start(), FakeCheckout().start(), FakeGoogle()
    yield {"llm": llm, "checkout": checkout, "google": google}
    llm.stop()
    checkout.stop()
    google.stop()


@pytest.fixture
def services(settings, fakes):
    settings.OPENAI_BASE_URL = fakes["llm"].base_url
    settings.OPENAI_API_KEY = "test-key"
    settings.OPENAI_MODEL = "fake-model"
    settings.AI_MAX_RETRIES = 0
    settings.CHECKOUT_BASE_URL = fakes["checkout"].url
    settings.CHECKOUT_SECRET_KEY = "sk_sbox_test"
    settings.CHECKOUT_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.GOOGLE_CERTS_URL = fakes["google"].url
    settings.GOOGLE_CLIENT_IDS = [CLIENT_ID]
    settings.TRANSCRIBE_ALLOWED_HOSTS = ["audio.example.com"]
    settings.RATE_LIMIT_GENERAL = settings.RATE_LIMIT_AI = settings.RATE_LIMIT_AUTH = 0
    with serve_fake_deepgram(settings):
        yield


# --- the signed-in user and their rows ----------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker) -> Iterator[dict[str, str]]:
    """A Pro user with credits and one row of each kind, made once for the module (in a
    transaction rolled back at its end); yields the ids by name."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _seed()
        transaction.set_rollback(True)


def _seed() -> dict[str, str]:
    output = io.StringIO()
    call_command("issue_token", "fuzz@example.com", "--pro", stdout=output)
    signed_in = json.loads(output.getvalue())
    user = User.objects.get(email="fuzz@example.com")
    credits_admin_grant(user=user, credit_type="purchased", amount=200)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {signed_in['access_token']}")

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.post(path, body, format="json")
        assert response.status_code in (200, 201), (path, response.content)
        return response.json()["data"]

    due = (timezone.now() + dt.timedelta(days=7)).isoformat()
    task = post("/api/v1/tasks", {"title": "Seeded task", "due_date": due, "estimated_duration": 30})
    subtask = post(f"/api/v1/tasks/{task['id']}/subtasks", {"title": "Seeded subtask"})
    reminder = post(f"/api/v1/tasks/{task['id']}/reminders", {"type": "before", "offset_minutes": 15})
    template = post("/api/v1/templates", {"title": "Seeded template", "rrule": "FREQ=WEEKLY;BYDAY=MO"})
    note = post("/api/v1/notes", {"content": "Seeded note"})
    doomed = post("/api/v1/tasks", {"title": "Deleted task"})
    tombstone = client.delete(f"/api/v1/tasks/{doomed['id']}").json()["data"]
    focus = post("/api/v1/focus/start", {"task_id": task["id"]})
    notification = notification_create(user=user, type="system", title="Seeded notification")
    return {
        "access_token": signed_in["access_token"],
        "refresh_token": signed_in["refresh_token"],
        "user": str(user.pk),
        "task": task["id"],
        "subtask": subtask["id"],
        "reminder": reminder["id"],
        "template": template["id"],
        "note": note["id"],
        "tombstone": tombstone["tombstone_id"],
        "focus_session": focus["id"],
        "notification": str(notification.pk),
    }


# --- real ids in generated requests --------------------------------------------------------------

# The entity a path's `{id}` names, by the path's first segment after /api/v1/.
_PATH_ENTITY = {
    "tasks": "task",
    "subtasks": "subtask",
    "reminders": "reminder",
    "templates": "template",
    "notes": "note",
    "notifications": "notification",
    "tombstones": "tombstone",
    "focus-sessions": "focus_session",
    "users": "user",
}
# Body and query fields that name a row.
_FIELD_ENTITY = {
    "task_id": "task",
    "note_id": "note",
    "session_id": "focus_session",
    "template_id": "template",
    "entity_id": "task",
    "refresh_token": "refresh_token",
}


def _entity_for_path(path: str) -> str:
    rest = path.removeprefix("/api/v1/")
    if rest.startswith("tasks/recover/"):
        return "tombstone"
    return _PATH_ENTITY[rest.split("/", 1)[0]]


def _with_real_ids(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            key: ids[_FIELD_ENTITY[key]] if key in _FIELD_ENTITY else _with_real_ids(item, ids)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_with_real_ids(item, ids) for item in value]
    return value


def _plug_real_ids(case: schemathesis.Case, ids: dict[str, str]) -> None:
    for name in case.path_parameters or {}:
        case.path_parameters[name] = ids[_entity_for_path(case.operation.path)]
    if isinstance(case.query, dict):
        case.query = _with_real_ids(case.query, ids)
    if isinstance(case.body, dict | list):
        case.body = _with_real_ids(case.body, ids)


@pytest.fixture
def application(db, services) -> Iterator[WSGIHandler]:
    """Django's WSGI application. Its handler closes the connection around each request
    (the test client does not): keep the test's transaction open, as `django.test.Client` does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Production serves the streaming AI route through Django's ASGI handler (perpetua/asgi.py);
# under WSGI Django warns that it consumes the async event iterator synchronously.
@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume asynchronous iterators:Warning")
@schema.parametrize()
@schema.given(real_ids=st.booleans())
@hypothesis.settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same examples on every run and every xdist worker
    database=None,  # nothing written to .hypothesis/
    deadline=None,  # a request's time depends on the machine's load, not on the input
    suppress_health_check=[
        # The fixtures run once per operation, not per example, on purpose: each example's
        # writes are rolled back (below), so every example sees the rows as they were made.
        HealthCheck.function_scoped_fixture,
        # Generating the larger bodies can be slow on a loaded 2-core CI machine.
        HealthCheck.too_slow,
    ],
)
def test_every_operation(
    case: schemathesis.Case, real_ids: bool, seeded: dict[str, str], application: WSGIHandler
) -> None:
    if real_ids:
        _plug_real_ids(case, seeded)
    headers = {"Authorization": f"Bearer {seeded['access_token']}"}
    cache.clear()
    with transaction.atomic():
        try:
            case.call_and_validate(headers=headers, checks=CHECKS, app=application)
        finally:
            transaction.set_rollback(True)
