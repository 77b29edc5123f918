"""Hostile input on the real endpoints (issue 13, "Hostile input, tested"): the cases the
earlier modules left open. Already covered elsewhere, so not repeated here:

- oversized bodies, declared or chunked, refused before they are read:
  perpetua/tests/test_errors.py, test_asgi_http.py, test_server.py;
- malformed, deeply nested and bad-surrogate JSON on a test view: test_errors.py, test_bounds.py;
- wrong JSON types on a test serializer: test_strict_types.py; pagination digits: test_strict_input.py;
- expired, tampered, another key, unknown kid, wrong issuer/audience, a future `iat`/`nbf`,
  absurd time claims: accounts/tests/test_access_tokens.py, test_token_claims.py;
- webhook signatures missing, empty, of another body, another secret: billing/tests/test_webhooks.py.

Each test below asserts the status, the contract's error shape, and that nothing was written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
import uuid

import jwt
import pytest
from django.apps import apps
from jwt.utils import base64url_encode
from rest_framework import serializers
from rest_framework.test import APIClient

from accounts.keys import get_keyring
from accounts.serializers import UserUpdateSerializer
from accounts.services import session_start
from accounts.tokens import access_token_for
from billing.models import Payment, WebhookEvent
from billing.tests.conftest import WEBHOOK_SECRET, post_event
from billing.tests.conftest import checkout as checkout  # the fake Checkout.com, as a fixture here
from billing.tests.fake_checkout import event, sign
from credits.selectors import balance_for_user
from notes.serializers import NoteCreateSerializer
from perpetua.api import serializers as strict
from perpetua.asgi import application
from perpetua.tests.serving import serve
from tasks.models import Task
from tasks.serializers.focus import FocusStartSerializer
from tasks.serializers.recurring import TemplateCreateSerializer
from tasks.serializers.reminders import ReminderCreateForTaskSerializer
from tasks.serializers.subtasks import SubtaskCreateSerializer
from tasks.serializers.tasks import TaskCreateSerializer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.RATE_LIMIT_GENERAL = 0


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._base_manager.count() for model in apps.get_models() if not model._meta.proxy}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert error["request_id"] == response["X-Request-ID"]
    return error


# --- wrong JSON types on every field of every create ------------------------------------------

# The JSON types each strict field takes; every other type must be a 400 on that field.
SAMPLES = {"string": "12", "integer": 12, "number": 1.5, "boolean": True, "array": [], "object": {}}
TAKES = [
    ((strict.BooleanField,), {"boolean"}),
    ((strict.IntegerField,), {"integer"}),
    ((strict.FloatField,), {"integer", "number"}),
    ((serializers.ListField,), {"array"}),
    ((serializers.Serializer, serializers.DictField), {"object"}),
    ((strict.CharField, strict.ChoiceField, strict.DateTimeField, strict.UUIDField, serializers.Field), {"string"}),
]

# Each create (and the one profile update) of the API: path, serializer, a valid body, the table it writes.
CREATES = {
    "task": ("/api/v1/tasks", TaskCreateSerializer, {"title": "t"}, "tasks.Task"),
    "subtask": ("/api/v1/tasks/{task}/subtasks", SubtaskCreateSerializer, {"title": "s"}, "tasks.Subtask"),
    "template": (
        "/api/v1/templates",
        TemplateCreateSerializer,
        {"title": "t", "rrule": "FREQ=DAILY"},
        "tasks.TaskTemplate",
    ),
    "reminder": (
        "/api/v1/reminders",
        ReminderCreateForTaskSerializer,
        {"task_id": "{task}", "type": "absolute", "scheduled_at": "2099-01-01T00:00:00Z"},
        "tasks.Reminder",
    ),
    "note": ("/api/v1/notes", NoteCreateSerializer, {"content": "n"}, "notes.Note"),
    "focus": ("/api/v1/focus/start", FocusStartSerializer, {"task_id": "{task}"}, "tasks.FocusSession"),
    "profile": ("/api/v1/users/me", UserUpdateSerializer, {"name": "n"}, "accounts.User"),
}


def _json_types(field: serializers.Field) -> set[str]:
    taken = next(types for classes, types in TAKES if isinstance(field, classes))
    return taken | ({"null"} if field.allow_null else set())


def _type_cases() -> list:
    cases = []
    for name, (_path, serializer, _body, _table) in CREATES.items():
        for field_name, field in serializer().fields.items():
            if field.read_only:
                continue
            wrong = [kind for kind in SAMPLES if kind not in _json_types(field)]
            cases.append(pytest.param(name, field_name, wrong, id=f"{name}.{field_name}"))
    return cases


@pytest.mark.parametrize(("create", "field_name", "wrong"), _type_cases())
def test_a_value_of_another_json_type_on_any_field_of_a_create_is_a_400_and_writes_nothing(
    pro_user, client_for, make_task, create, field_name, wrong
):
    path, _serializer, valid, table = CREATES[create]
    task = make_task(owner=pro_user)
    ids = {"task": str(task.pk)}
    path = path.format(**ids)
    valid = {k: v.format(**ids) if isinstance(v, str) else v for k, v in valid.items()}
    api = client_for(pro_user)
    method = api.patch if create == "profile" else api.post
    model = apps.get_model(table)
    before = list(model.objects.order_by("pk").values())
    for kind in wrong:
        response = method(path, {**valid, field_name: SAMPLES[kind]}, format="json")
        error = assert_error(response, 400, "VALIDATION_ERROR")
        assert [d["field"] for d in error["details"]] == [field_name], (kind, error)
    assert list(model.objects.order_by("pk").values()) == before


# --- malformed JSON on every kind of write ------------------------------------------------------

# (An empty body is no malformed JSON: a PATCH without one changes no field.)

MALFORMED = [
    b"{nope",
    b'{"title": "a",}',
    b"[1, 2",
    b"null",
    b'"a string"',
    b"\xff\xfe{}",
    b'{"title": "\\ud800"}',
]
WRITES = [
    ("post", "/api/v1/tasks"),
    ("patch", "/api/v1/tasks/{task}"),
    ("put", "/api/v1/tasks/{task}"),
    ("post", "/api/v1/tasks/{task}/subtasks"),
    ("post", "/api/v1/reminders"),
    ("post", "/api/v1/notes"),
    ("post", "/api/v1/templates"),
    ("patch", "/api/v1/users/me"),
    ("post", "/api/v1/ai/confirm-action"),
]


@pytest.mark.parametrize(("method", "path"), WRITES, ids=[f"{m} {p}" for m, p in WRITES])
def test_malformed_json_on_a_write_is_a_400_and_writes_nothing(user, client_for, make_task, method, path):
    task = make_task(title="before")
    path = path.format(task=task.pk)
    api = client_for(user)
    before = row_counts()
    for raw in MALFORMED:
        response = getattr(api, method)(
            path, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
        )
        assert_error(response, 400, "VALIDATION_ERROR")
    # Only the refusals' idempotency records, kept for replay.
    assert {k: v for k, v in row_counts().items() if k != "api.IdempotencyKey"} == {
        k: v for k, v in before.items() if k != "api.IdempotencyKey"
    }
    task.refresh_from_db()
    assert (task.title, task.version) == ("before", 1)


# --- huge and odd pagination values on every paginated list ------------------------------------

LISTS = [
    "/api/v1/tasks",
    "/api/v1/notes",
    "/api/v1/templates",
    "/api/v1/reminders",
    "/api/v1/focus-sessions",
    "/api/v1/credits/history",
    "/api/v1/activity",
    "/api/v1/notifications",
    "/api/v1/tombstones",
    "/api/v1/tasks/{task}/focus-sessions",
]
BAD_WINDOWS = [
    ("limit", "-1"),
    ("limit", "0"),
    ("limit", "101"),
    ("limit", str(10**30)),
    ("limit", "ten"),
    ("limit", "1e2"),
    ("limit", "5.0"),
    ("offset", "-1"),
    ("offset", str(10**30)),
    ("offset", "0x10"),
    ("offset", "½"),
]


@pytest.mark.parametrize("path", LISTS)
def test_pagination_values_out_of_range_are_a_400_on_every_list(user, client_for, make_task, path):
    path = path.format(task=make_task().pk)
    api = client_for(user)
    plain = api.get(path)
    assert plain.status_code == 200 and "pagination" in plain.json(), plain.content
    for name, raw in BAD_WINDOWS:
        error = assert_error(api.get(path, {name: raw}), 400, "VALIDATION_ERROR")
        assert [d["field"] for d in error["details"]] == [name], (name, raw)
    # The largest offset still parsed reads past the end; `page` is no parameter of ours.
    far = api.get(path, {"offset": "9" * 18, "limit": "100"})
    assert far.status_code == 200 and far.json()["data"] == []
    assert far.json()["pagination"]["offset"] == 10**18 - 1
    for page in ["-1", str(10**30), "x"]:
        assert api.get(path, {"page": page}).json()["pagination"] == plain.json()["pagination"]


# --- forged access tokens -------------------------------------------------------------------------


def _claims(user) -> dict:
    return jwt.decode(access_token_for(user=user), options={"verify_signature": False})


def _hs256(claims: dict, secret: bytes, kid: str) -> str:
    """HS256 by hand: PyJWT refuses an HMAC secret that looks like a PEM key, an attacker does not."""
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = b".".join(base64url_encode(json.dumps(part).encode()) for part in (header, claims))
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + base64url_encode(signature)).decode()


def _forged(user) -> dict[str, str]:
    signer = get_keyring().signer
    claims = _claims(user)
    public_pem = signer.verifying_key  # the PEM text, as published (minus the JWKS encoding)
    return {
        "alg-none": jwt.encode(claims, None, algorithm="none", headers={"kid": signer.kid}),
        "alg-none-unsigned-header-only": jwt.encode(claims, None, algorithm="none"),
        "hs256-with-the-public-key": _hs256(claims, public_pem.encode(), signer.kid),
        "refresh-token-type": jwt.encode(
            {**claims, "token_type": "refresh"},
            signer.prepared_signing_key,
            algorithm="RS256",
            headers={"kid": signer.kid},
        ),
    }


@pytest.mark.parametrize("kind", ["alg-none", "alg-none-unsigned-header-only", "hs256-with-the-public-key",
                                  "refresh-token-type"])  # fmt: skip
def test_a_forged_access_token_is_401_on_reads_and_writes_and_writes_nothing(user, kind):
    token = _forged(user)[kind]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    before = row_counts()

    assert_error(client.get("/api/v1/users/me"), 401, "UNAUTHORIZED")
    assert_error(client.post("/api/v1/tasks", {"title": "forged"}, format="json"), 401, "UNAUTHORIZED")
    assert row_counts() == before and not Task.objects.exists()


def test_a_refresh_token_is_no_access_token(user):
    """The opaque refresh token (CONTRACT §1) sent as a Bearer token is a 401, and the session still works."""
    session = session_start(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session.refresh_token}")

    assert_error(client.get("/api/v1/users/me"), 401, "UNAUTHORIZED")
    assert_error(client.post("/api/v1/tasks", {"title": "x"}, format="json"), 401, "UNAUTHORIZED")
    assert not Task.objects.exists()
    refreshed = APIClient().post("/api/v1/auth/refresh", {"refresh_token": session.refresh_token}, format="json")
    assert refreshed.status_code == 200, refreshed.content


# --- forged webhook signatures ---------------------------------------------------------------------


@pytest.fixture
def pending(client_for, user, checkout) -> Payment:
    response = client_for(user).post("/api/v1/subscription/purchase-credits", {"amount": 10}, format="json")
    assert response.status_code == 201, response.content
    return Payment.objects.get()


def _post_raw(body: bytes, signature: str):
    return APIClient().post(
        "/api/v1/webhooks/checkout", body, content_type="application/json", HTTP_CKO_SIGNATURE=signature
    )


def test_a_signed_event_with_one_byte_changed_is_401_and_changes_nothing(user, pending):
    payload = event("payment_captured", reference=str(pending.id), payment_id="pay_x", amount=pending.amount)
    body = json.dumps(payload).encode()
    signature = sign(body, WEBHOOK_SECRET)
    tampered = body.replace(b'"amount": %d' % pending.amount, b'"amount": %d' % (pending.amount + 1), 1)
    assert tampered != body
    flipped = bytes([body[0]]) + body[1:-1] + (b" " if body[-1:] != b" " else b"\n")
    before = row_counts()

    for changed in [tampered, flipped, body + b" ", body[:-1]]:
        assert_error(_post_raw(changed, signature), 401, "UNAUTHORIZED")
    for forged in [
        signature[:-1],
        signature + "0",
        signature[:32],
        "sha256=" + signature,
        signature.upper()[:-1] + "g",
    ]:
        assert_error(_post_raw(body, forged), 401, "UNAUTHORIZED")

    assert row_counts() == before and not WebhookEvent.objects.exists()
    pending.refresh_from_db()
    assert pending.status == "pending" and balance_for_user(user=user).purchased == 0
    # The untouched body with its signature is accepted: the refusals were about the bytes.
    assert post_event(payload).status_code == 200


# --- slow bodies on the real server ----------------------------------------------------------------


@pytest.fixture
def server():
    yield from serve(application)


def _read_all(conn: socket.socket, seconds: float) -> bytes:
    conn.settimeout(seconds)
    data = b""
    try:
        while chunk := conn.recv(65536):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("style", ["stalled", "trickled"])
def test_a_body_slower_than_its_deadline_is_cut_off_with_408_and_writes_nothing(server, settings, user, style):
    settings.HTTP_BODY_TIMEOUT_SECONDS = 0.5
    body = json.dumps({"title": "slow"}).encode()
    conn = socket.create_connection(("127.0.0.1", server), timeout=5)
    conn.sendall(
        b"POST /api/v1/tasks HTTP/1.1\r\nHost: testserver\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + access_token_for(user=user).encode() + b"\r\n"
        b"X-Request-ID: slow-body-1\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:3]
    )
    if style == "trickled":  # more bytes keep arriving, but the deadline runs from the head
        for byte in body[3:-1]:
            time.sleep(0.05)
            try:
                conn.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
    data = _read_all(conn, 3)
    conn.close()

    head, _, content = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), data[:200]
    assert json.loads(content)["error"] == {
        "code": "REQUEST_TIMEOUT",
        "message": json.loads(content)["error"]["message"],
        "request_id": "slow-body-1",
    }
    assert not Task.objects.exists()
