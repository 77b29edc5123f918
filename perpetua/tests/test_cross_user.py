"""The cross-user matrix (CONTRACT §0, Ownership; issue 13, "Hostile input, tested").

Every route under /api/v1/ and every WebSocket route comes from Django's URL resolver and
the Channels router, and each (route, method) must have an entry in MATRIX or WS_MATRIX:
an endpoint added without one fails `test_every_endpoint_has_a_matrix_entry`.

An entry is one of:

- `Foreign` probes: user B calls the endpoint with user A's object ids (in the path, the
  query or the body) and a body that is otherwise valid. The answer is 403 `FORBIDDEN` in
  the contract's error shape, and no row of the database changed (a snapshot of every
  table before and after). Unless `control=False`, A then makes the very same call and
  succeeds: the probe's body is valid, so the 403 is about ownership and nothing else.
- `Own` probes: the endpoint takes no id of anyone (the caller's own lists, profile,
  balance...). B calls it; the answer has the expected status, names none of A's ids,
  and none of A's rows changed.
- `Open(reason)`: the endpoint has no user in it at all (health, schema, sign-in with a
  Google token, refresh/logout with a refresh token, the signed webhook); the reason
  names the tests that cover it.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.db import transaction
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from model_bakery import baker
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tokens import access_token_for
from ai.tests.fake_openai import FakeOpenAI
from billing.tests.fake_checkout import FakeCheckout
from credits.services import credits_admin_grant
from notifications.push import push_subscription_register
from notifications.services import notification_create
from perpetua.api.models import IdempotencyKey
from tasks.models import Task

pytestmark = pytest.mark.django_db

API = "api/v1/"
FUTURE = (timezone.now() + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
A_ENDPOINT = "https://fcm.googleapis.com/fcm/send/a-browser-of-user-a"
B_ENDPOINT = "https://fcm.googleapis.com/fcm/send/a-browser-of-user-b"
KEYS = {  # a P-256 point and a 16-byte secret, base64url (what a browser's subscription carries)
    "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
    "auth": "tBHItJI5svbpez7KI4CCXg",
}
REMINDER = {"type": "absolute", "scheduled_at": FUTURE, "method": "in_app"}


# --- the matrix ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Foreign:
    """B calls with A's ids; `{name}` in the path, query and body is one of A's ids (see `world`)."""

    path: str
    body: Any = None
    query: dict[str, str] | None = None
    control: bool = True  # A's same call succeeds (False where A's own state forbids a repeat)
    needs: tuple[str, ...] = ()  # fakes of outside services: "llm", "checkout"


@dataclass(frozen=True)
class Own:
    """B calls an endpoint that takes no id: its own data only."""

    path: str
    body: Any = None
    query: dict[str, str] | None = None
    status: int = 200
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Open:
    reason: str


@dataclass(frozen=True)
class Probes:
    items: list[Foreign | Own] = field(default_factory=list)


TASK, NOTE = "/api/v1/tasks/{task}", "/api/v1/notes/{note}"
AUTH_COVERED = "no user in it: a credential in the body; accounts/tests/test_sessions.py, test_google_sign_in.py"

MATRIX: dict[tuple[str, str], list[Foreign | Own] | Open] = {
    # cross-cutting
    ("schema/", "get"): Open("the public OpenAPI schema; perpetua/tests/test_schema.py"),
    ("docs/", "get"): Open("the public Swagger UI; perpetua/tests/test_schema.py"),
    ("health/live", "get"): Open("a public probe; perpetua/tests/test_health.py"),
    ("health/ready", "get"): Open("a public probe; perpetua/tests/test_health.py"),
    # accounts (CONTRACT §1, §2)
    ("auth/google/callback", "post"): Open(AUTH_COVERED),
    ("auth/refresh", "post"): Open(AUTH_COVERED),
    ("auth/logout", "post"): Open(AUTH_COVERED),
    ("auth/.well-known/jwks.json", "get"): Open("public keys; accounts/tests/test_access_tokens.py"),
    ("users/me", "get"): [Own("/api/v1/users/me")],
    ("users/me", "patch"): [Own("/api/v1/users/me", {"name": "Bee", "timezone": "Europe/Paris"})],
    ("users/me", "delete"): [Own("/api/v1/users/me")],
    ("users/me/export", "get"): [Own("/api/v1/users/me/export")],
    # tasks (§3)
    ("tasks", "get"): [
        Own("/api/v1/tasks", query={"hidden": "true"}),
        Own("/api/v1/tasks", query={"template_id": "{template}"}),
    ],
    ("tasks", "post"): [Own("/api/v1/tasks", {"title": "B's own task"}, status=201)],
    ("tasks/<uuid:pk>", "get"): [Foreign(TASK)],
    ("tasks/<uuid:pk>", "patch"): [Foreign(TASK, {"title": "B was here", "version": 1})],
    ("tasks/<uuid:pk>", "put"): [Foreign(TASK, {"completed": True})],
    ("tasks/<uuid:pk>", "delete"): [Foreign(TASK)],
    ("tasks/<uuid:pk>/force-complete", "post"): [Foreign(TASK + "/force-complete", {"version": 1})],
    # subtasks (§4)
    ("tasks/<uuid:task_id>/subtasks", "get"): [Foreign(TASK + "/subtasks")],
    ("tasks/<uuid:task_id>/subtasks", "post"): [Foreign(TASK + "/subtasks", {"title": "B's step", "order_index": 0})],
    ("tasks/<uuid:task_id>/subtasks/reorder", "put"): [
        Foreign(TASK + "/subtasks/reorder", {"subtask_ids": ["{subtask2}", "{subtask}"]}),
        # B's own task, A's subtask ids in the list
        Foreign("/api/v1/tasks/{b_task}/subtasks/reorder", {"subtask_ids": ["{subtask}"]}, control=False),
    ],
    ("subtasks/<uuid:pk>", "patch"): [Foreign("/api/v1/subtasks/{subtask}", {"completed": True})],
    ("subtasks/<uuid:pk>", "put"): [Foreign("/api/v1/subtasks/{subtask}", {"title": "B was here"})],
    ("subtasks/<uuid:pk>", "delete"): [Foreign("/api/v1/subtasks/{subtask}")],
    ("subtasks/<uuid:pk>/complete", "post"): [Foreign("/api/v1/subtasks/{subtask}/complete", {})],
    # focus (§11); A already has an open session, so A cannot start a second one
    ("focus/start", "post"): [Foreign("/api/v1/focus/start", {"task_id": "{task}"}, control=False)],
    ("focus/end", "post"): [
        Foreign("/api/v1/focus/end", {"session_id": "{focus}"}),
        Foreign("/api/v1/focus/end", {"task_id": "{task}"}),
    ],
    ("focus/active", "get"): [Own("/api/v1/focus/active")],
    ("focus-sessions", "get"): [Own("/api/v1/focus-sessions")],
    ("focus-sessions", "post"): [Foreign("/api/v1/focus-sessions", {"task_id": "{task}"}, control=False)],
    ("focus-sessions/active", "get"): [Own("/api/v1/focus-sessions/active", status=404)],
    ("focus-sessions/<uuid:pk>/end", "post"): [Foreign("/api/v1/focus-sessions/{focus}/end", {})],
    ("tasks/<uuid:task_id>/focus-sessions", "get"): [Foreign(TASK + "/focus-sessions")],
    # recurring templates (§5)
    ("templates", "get"): [Own("/api/v1/templates")],
    ("templates", "post"): [Own("/api/v1/templates", {"title": "B's habit", "rrule": "FREQ=DAILY"}, status=201)],
    ("templates/<uuid:pk>", "get"): [Foreign("/api/v1/templates/{template}")],
    ("templates/<uuid:pk>", "patch"): [Foreign("/api/v1/templates/{template}", {"title": "B was here"})],
    ("templates/<uuid:pk>", "delete"): [Foreign("/api/v1/templates/{template}")],
    ("templates/<uuid:pk>/generate", "post"): [Foreign("/api/v1/templates/{template}/generate", {})],
    # reminders (§6)
    ("tasks/<uuid:task_id>/reminders", "get"): [Foreign(TASK + "/reminders")],
    ("tasks/<uuid:task_id>/reminders", "post"): [Foreign(TASK + "/reminders", REMINDER)],
    ("reminders", "get"): [Own("/api/v1/reminders"), Foreign("/api/v1/reminders", query={"task_id": "{task}"})],
    ("reminders", "post"): [Foreign("/api/v1/reminders", {**REMINDER, "task_id": "{task}"})],
    ("reminders/<uuid:pk>", "get"): [Foreign("/api/v1/reminders/{reminder}")],
    ("reminders/<uuid:pk>", "patch"): [Foreign("/api/v1/reminders/{reminder}", {"method": "push"})],
    ("reminders/<uuid:pk>", "put"): [Foreign("/api/v1/reminders/{reminder}", {"scheduled_at": FUTURE})],
    ("reminders/<uuid:pk>", "delete"): [Foreign("/api/v1/reminders/{reminder}")],
    # notes (§7)
    ("notes", "get"): [Own("/api/v1/notes")],
    ("notes", "post"): [Own("/api/v1/notes", {"content": "B's own note"}, status=201)],
    ("notes/<uuid:pk>", "get"): [Foreign(NOTE)],
    ("notes/<uuid:pk>", "patch"): [Foreign(NOTE, {"content": "B was here"})],
    ("notes/<uuid:pk>", "put"): [Foreign(NOTE, {"archived": True})],
    ("notes/<uuid:pk>", "delete"): [Foreign(NOTE)],
    # AI (§8): suggestions and confirmed actions naming A's objects
    ("ai/chat", "post"): [Foreign("/api/v1/ai/chat", {"message": "Help", "task_id": "{task}"}, needs=("llm",))],
    ("ai/chat/stream", "post"): [
        Foreign("/api/v1/ai/chat/stream", {"message": "Help", "task_id": "{task}"}, needs=("llm",))
    ],
    ("ai/generate-subtasks", "post"): [Foreign("/api/v1/ai/generate-subtasks", {"task_id": "{task}"}, needs=("llm",))],
    ("ai/confirm-action", "post"): [
        Foreign("/api/v1/ai/confirm-action", {"action_type": "complete_task", "action_data": {"task_id": "{task}"}}),
        Foreign(
            "/api/v1/ai/confirm-action",
            {"action_type": "update_task", "action_data": {"task_id": "{task}", "version": 1, "title": "B"}},
        ),
        Foreign(
            "/api/v1/ai/confirm-action",
            {"action_type": "create_subtasks", "action_data": {"task_id": "{task}", "subtasks": [{"title": "B"}]}},
        ),
        Foreign(
            "/api/v1/ai/confirm-action",
            {"action_type": "create_task", "action_data": {"title": "From A's note", "note_id": "{note}"}},
        ),
    ],
    ("notes/<uuid:pk>/convert", "post"): [Foreign(NOTE + "/convert", {}, needs=("llm",))],
    ("ai/transcribe", "post"): Open(
        "takes no id: an https audio URL on an allowed host, billed to the caller; ai/tests/test_voice_transcribe.py"
    ),
    # billing (§12): the caller's own subscription; the webhook has no user
    ("subscription", "get"): [Own("/api/v1/subscription")],
    ("subscription/checkout", "post"): [Own("/api/v1/subscription/checkout", {}, status=201, needs=("checkout",))],
    ("subscription/upgrade", "post"): [Own("/api/v1/subscription/upgrade", {}, status=201, needs=("checkout",))],
    ("subscription/cancel", "post"): [Own("/api/v1/subscription/cancel", {}, status=409)],
    ("subscription/purchase-credits", "post"): [
        Own("/api/v1/subscription/purchase-credits", {"amount": 10}, status=201, needs=("checkout",))
    ],
    ("webhooks/checkout", "post"): Open(
        "no user: an HMAC-signed provider event; billing/tests/test_webhooks.py, perpetua/tests/test_hostile_input.py"
    ),
    # credits (§10)
    ("credits/balance", "get"): [Own("/api/v1/credits/balance")],
    ("credits/history", "get"): [Own("/api/v1/credits/history")],
    ("ai/credits", "get"): [Own("/api/v1/ai/credits")],
    # achievements (§11)
    ("achievements", "get"): [Own("/api/v1/achievements")],
    ("achievements/me", "get"): [Own("/api/v1/achievements/me")],
    ("achievements/stats", "get"): [Own("/api/v1/achievements/stats")],
    ("achievements/limits", "get"): [Own("/api/v1/achievements/limits")],
    ("users/<uuid:user_id>/achievements", "get"): [Foreign("/api/v1/users/{user}/achievements")],
    # recovery and activity (§14)
    ("tombstones", "get"): [Own("/api/v1/tombstones")],
    ("tombstones/<uuid:id>/recover", "post"): [
        Foreign("/api/v1/tombstones/{tomb_task}/recover", {}),
        Foreign("/api/v1/tombstones/{tomb_note}/recover", {}),
    ],
    ("tasks/recover/<uuid:id>", "post"): [Foreign("/api/v1/tasks/recover/{tomb_task}", {})],
    ("activity", "get"): [Own("/api/v1/activity"), Foreign("/api/v1/activity", query={"entity_id": "{task}"})],
    ("users/<uuid:user_id>/activity", "get"): [Foreign("/api/v1/users/{user}/activity")],
    # notifications (§13)
    ("notifications/push-subscription", "post"): [
        Own("/api/v1/notifications/push-subscription", {"endpoint": B_ENDPOINT, "keys": KEYS}, status=201)
    ],
    # B removing A's endpoint is a no-op (idempotent 200), never a removal of A's row
    ("notifications/push-subscription", "delete"): [
        Own("/api/v1/notifications/push-subscription", {"endpoint": A_ENDPOINT})
    ],
    ("notifications/push-subscription/vapid-public-key", "get"): [
        Own("/api/v1/notifications/push-subscription/vapid-public-key")
    ],
    ("notifications", "get"): [Own("/api/v1/notifications")],
    ("notifications/read-all", "post"): [Own("/api/v1/notifications/read-all", {})],
    ("notifications/<uuid:id>/read", "patch"): [Foreign("/api/v1/notifications/{notification}/read")],
    ("notifications/<uuid:id>", "delete"): [Foreign("/api/v1/notifications/{notification}")],
}


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def _methods(callback: Any) -> set[str]:
    """The HTTP methods a view answers: a ViewSet's action map, else the APIView's handlers."""
    actions = getattr(callback, "actions", None)  # DRF adds "head" to it on the first GET: left out
    if actions:
        return set(actions) - {"head", "options"}
    view = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    assert view is not None, f"{callback} is no class-based view: the matrix cannot read its methods"
    return {m for m in view.http_method_names if hasattr(view, m) and m not in ("head", "options")}


def api_endpoints() -> set[tuple[str, str]]:
    return {
        (route.removeprefix(API), method)
        for route, callback in _routes(get_resolver().url_patterns)
        if route.startswith(API)
        for method in _methods(callback)
    }


def test_every_endpoint_has_a_matrix_entry():
    endpoints = api_endpoints()
    assert sorted(endpoints - set(MATRIX)) == [], "endpoints without a cross-user matrix entry"
    assert sorted(set(MATRIX) - endpoints) == [], "matrix entries of endpoints that no longer exist"


def test_the_open_endpoints_are_the_ones_without_a_user():
    """An endpoint may only be Open when it does not authenticate a user at all."""
    client = APIClient()
    for (route, method), entry in MATRIX.items():
        if isinstance(entry, Open) and method == "get":
            assert client.get("/" + API + route).status_code == 200, route
    assert client.get("/api/v1/tasks").status_code == 401  # and a closed one is closed


# --- the two users -----------------------------------------------------------------------------


def _write(client: APIClient, method: str, path: str, body: Any = None, query: dict | None = None):
    if query:
        path = f"{path}?{'&'.join(f'{k}={v}' for k, v in query.items())}"
    if method == "get":
        return client.get(path)
    # A fresh Idempotency-Key on every write: honoured everywhere, required on /ai/*.
    return getattr(client, method)(path, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.content
    return response.json()["data"]


def _user(name: str) -> User:
    user = baker.make(
        "accounts.User", tier="pro", name=name, email=f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    )
    credits_admin_grant(user=user, credit_type="purchased", amount=50)
    return user


def _client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(user=user)}")
    return client


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[SimpleNamespace]:
    """User A with one of everything, made through the API where the API makes it; user B
    with a task and a subtask of its own. `ids` maps the matrix's `{names}` to A's ids.

    Made once for the module inside a transaction that is rolled back at its end; each
    test runs in a savepoint of it (pytest-django's `django_db`), so every test sees the
    same world whatever the one before it changed.
    """
    with django_db_blocker.unblock(), transaction.atomic(), override_settings(RATE_LIMIT_GENERAL=0, RATE_LIMIT_AI=0):
        yield _build_world()
        transaction.set_rollback(True)


def _build_world() -> SimpleNamespace:
    a, b = _user("Alice"), _user("Bob")
    api_a, api_b = _client(a), _client(b)
    template = _ok(_write(api_a, "post", "/api/v1/templates", {"title": "Water plants", "rrule": "FREQ=DAILY"}), 201)
    task = _ok(
        _write(api_a, "post", "/api/v1/tasks", {"title": "A's task", "due_date": FUTURE, "estimated_duration": 30}),
        201,
    )
    sub1 = _ok(_write(api_a, "post", f"/api/v1/tasks/{task['id']}/subtasks", {"title": "one"}), 201)
    sub2 = _ok(_write(api_a, "post", f"/api/v1/tasks/{task['id']}/subtasks", {"title": "two"}), 201)
    reminder = _ok(_write(api_a, "post", f"/api/v1/tasks/{task['id']}/reminders", REMINDER), 201)
    focus = _ok(_write(api_a, "post", "/api/v1/focus/start", {"task_id": task["id"]}), 201)
    note = _ok(_write(api_a, "post", "/api/v1/notes", {"content": "A's note"}), 201)
    done = _ok(_write(api_a, "post", "/api/v1/tasks", {"title": "A's done task"}), 201)
    _ok(_write(api_a, "patch", f"/api/v1/tasks/{done['id']}", {"completed": True}))
    gone_task = _ok(_write(api_a, "post", "/api/v1/tasks", {"title": "A's deleted task"}), 201)
    tomb_task = _ok(_write(api_a, "delete", f"/api/v1/tasks/{gone_task['id']}"))["tombstone_id"]
    gone_note = _ok(_write(api_a, "post", "/api/v1/notes", {"content": "A's deleted note"}), 201)
    tomb_note = _ok(_write(api_a, "delete", f"/api/v1/notes/{gone_note['id']}"))["tombstone_id"]
    notification = notification_create(user=a, type="system", title="Hello A", body="For A only")
    push_subscription_register(user=a, endpoint=A_ENDPOINT, **KEYS)
    baker.make(
        "billing.Subscription", user=a, status="active", current_period_end=timezone.now() + dt.timedelta(days=20)
    )
    baker.make("billing.Payment", user=a, amount=500, credits=50, kind="credits", status="captured")
    b_task = _ok(_write(api_b, "post", "/api/v1/tasks", {"title": "B's task"}), 201)
    _ok(_write(api_b, "post", f"/api/v1/tasks/{b_task['id']}/subtasks", {"title": "B's step"}), 201)
    ids = {
        "user": str(a.pk),
        "task": task["id"],
        "subtask": sub1["id"],
        "subtask2": sub2["id"],
        "reminder": reminder["id"],
        "focus": focus["id"],
        "template": template["id"],
        "note": note["id"],
        "notification": str(notification.pk),
        "tomb_task": tomb_task,
        "tomb_note": tomb_note,
        "b_task": b_task["id"],
    }
    return SimpleNamespace(a=a, b=b, api_a=api_a, api_b=api_b, ids=ids)


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


@contextmanager
def _fakes(needs: tuple[str, ...], settings) -> Iterator[None]:
    """The outside services a probe's control call reaches, as fakes on 127.0.0.1."""
    with ExitStack() as stack:
        if "llm" in needs:
            llm = FakeOpenAI().start()
            stack.callback(llm.stop)
            settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY = llm.base_url, "test-key"
            settings.OPENAI_MODEL, settings.AI_MAX_RETRIES, settings.AI_TIMEOUT_SECONDS = "fake-model", 0, 5
        if "checkout" in needs:
            checkout = FakeCheckout().start()
            stack.callback(checkout.stop)
            settings.CHECKOUT_BASE_URL, settings.CHECKOUT_SECRET_KEY = checkout.url, "sk_sbox_test"
            settings.CHECKOUT_WEBHOOK_SECRET = "whsec_test"
        yield


# --- the database, before and after -----------------------------------------------------------


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, by model: a write anywhere shows as a difference."""
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values())
        for model in apps.get_models()
        if not model._meta.proxy
    }


def owner_of(label: str, row: dict[str, Any], task_owners: dict[Any, Any]) -> Any:
    if label == User._meta.label:
        return row["id"]
    if "user_id" in row:
        return row["user_id"]
    if "task_id" in row:
        return task_owners.get(row["task_id"])
    return None


def rows_not_of(user: User, tables: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    task_owners = {row["id"]: row["user_id"] for row in tables[Task._meta.label]}
    return {
        label: [row for row in rows if owner_of(label, row, task_owners) != user.pk] for label, rows in tables.items()
    }


def ids_of(user: User, tables: dict[str, list[dict[str, Any]]]) -> set[str]:
    """Every id of a row `user` owns, as text (what would show if a response leaked one)."""
    task_owners = {row["id"]: row["user_id"] for row in tables[Task._meta.label]}
    return {
        str(row["id"])
        for label, rows in tables.items()
        for row in rows
        if "id" in row and owner_of(label, row, task_owners) == user.pk and isinstance(row["id"], uuid.UUID)
    }


def bookkeeping_dropped(user: User, tables: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """`tables` without `user`'s Idempotency-Key records: a refusal is stored for replay, as any answer."""
    label = IdempotencyKey._meta.label
    return {**tables, label: [row for row in tables[label] if row["user_id"] != user.pk]}


def _text(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def _changed(before: dict, after: dict) -> dict[str, tuple[list, list]]:
    return {label: (before[label], after[label]) for label in before if before[label] != after[label]}


# --- the HTTP matrix ----------------------------------------------------------------------------


def _cases() -> list[Any]:
    return [
        pytest.param(route, method, i, probe, id=f"{method.upper()} {route} #{i}")
        for (route, method), entry in sorted(MATRIX.items())
        if not isinstance(entry, Open)
        for i, probe in enumerate(entry)
    ]


@pytest.mark.parametrize(("route", "method", "index", "probe"), _cases())
def test_another_users_objects_are_out_of_reach(world, db, settings, route, method, index, probe):
    ids = world.ids
    path, body, query = _fill(probe.path, ids), _fill(probe.body, ids), _fill(probe.query, ids)
    with _fakes(probe.needs, settings):
        before = snapshot()
        response = _write(world.api_b, method, path, body, query)
        text = _text(response)
        after = snapshot()

        leaked = {i for i in ids_of(world.a, before) if i in text}
        assert leaked == set(), f"B's answer names A's objects: {text[:500]}"
        if isinstance(probe, Own):
            assert response.status_code == probe.status, text
            assert _changed(rows_not_of(world.b, before), rows_not_of(world.b, after)) == {}
            return

        assert response.status_code == 403, text
        error = json.loads(text)["error"]
        assert error["code"] == "FORBIDDEN" and set(error) == {"code", "message", "request_id"}
        assert error["request_id"] == response["X-Request-ID"]
        assert _changed(bookkeeping_dropped(world.b, before), bookkeeping_dropped(world.b, after)) == {}
        if probe.control:
            control = _write(world.api_a, method, path, body, query)
            assert 200 <= control.status_code < 300, _text(control)
