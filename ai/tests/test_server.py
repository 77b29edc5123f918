"""The AI routes on the production server (uvicorn + `perpetua.asgi`) over real sockets:
server-sent event framing, failures mid-stream, a client disconnect, concurrent spending,
a slow provider that must not slow the rest of the API, and a hanging one: 503 after
AI_TIMEOUT_SECONDS, nothing charged, no thread and no provider connection left behind."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.urls import get_resolver
from model_bakery import baker
from prometheus_client import REGISTRY

from accounts.tokens import access_token_for
from ai.tests.fake_deepgram import serve_fake_deepgram
from credits import selectors as credit_selectors
from credits.models import CreditAccount, CreditEntry, CreditReservation, ReservationState
from perpetua.asgi import application
from perpetua.tests.serving import serve
from recovery.models import ActivityEntry

pytestmark = pytest.mark.django_db(transaction=True)

CHAT = "/api/v1/ai/chat"
TRANSCRIBE = "/api/v1/ai/transcribe"
AUDIO = "https://audio.example.com/rec/1.webm"


@pytest.fixture
def server():
    get_resolver().url_patterns  # the URLconf (and the AI SDKs it imports) before the first request's clock
    yield from serve(application)


@pytest.fixture
def fake_deepgram(settings):
    settings.TRANSCRIBE_ALLOWED_HOSTS = ["audio.example.com"]
    with serve_fake_deepgram(settings) as fake:
        yield fake


def _headers(user) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {access_token_for(user=user)}",
        "Content-Type": "application/json",
        "Idempotency-Key": str(uuid.uuid4()),
    }


def _post(port, path, body, user, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("POST", path, body=json.dumps(body), headers=_headers(user))
    response = conn.getresponse()
    return conn, response


def _frames(response):
    """Yield (event, data) per server-sent event as it arrives."""
    event, data = None, []
    while True:
        line = response.readline()
        if not line:
            return
        line = line.decode().rstrip("\n")
        if line == "":
            if data:
                yield event, "\n".join(data)
            event, data = None, []
        elif line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])


def _wait_for(predicate, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_stream_frames_each_token_as_it_arrives_then_done(server, user, fake_llm, give_credits, balance):
    give_credits(user, 2)
    # The fake sends each next chunk only when the test has read the previous frame: a
    # server that buffered the stream would never deliver the first one (the read times out).
    fake_llm.script({"chunks": ["Hel", "lo ", "world"], "gated": True})
    conn, response = _post(server, "/api/v1/ai/chat/stream", {"message": "hi"}, user, timeout=15)
    assert response.status == 200
    assert response.getheader("Content-Type").startswith("text/event-stream")
    assert response.getheader("X-Request-ID")
    frames = []
    for frame in _frames(response):
        frames.append(frame)
        fake_llm.next_chunk.release()
    conn.close()
    texts = [json.loads(data)["text"] for event, data in frames[:3]]
    assert texts == ["Hel", "lo ", "world"]
    done = json.loads(frames[3][1])
    assert done == {
        "done": True, "suggested_actions": [], "credits_used": 1, "credits_remaining": 1, "ai_request_warning": False
    }  # fmt: skip
    assert frames[4] == (None, "[DONE]") and len(frames) == 5
    assert fake_llm.requests[0]["stream"] is True
    assert balance(user) == 1


def test_a_provider_failure_mid_stream_ends_with_an_error_event_and_a_refund(
    server, user, fake_llm, give_credits, balance
):
    give_credits(user, 1)
    fake_llm.script({"chunks": ["Partial ", "answer ", "never finished"], "mode": "break"})
    conn, response = _post(server, "/api/v1/ai/chat/stream", {"message": "hi"}, user)
    assert response.status == 200
    frames = list(_frames(response))
    conn.close()
    assert json.loads(frames[0][1]) == {"text": "Partial "}
    event, data = frames[-1]
    assert event == "error"
    error = json.loads(data)["error"]
    assert error["code"] == "AI_SERVICE_UNAVAILABLE" and error["request_id"]
    assert all(data != "[DONE]" for _, data in frames)
    assert balance(user) == 1
    assert CreditEntry.objects.filter(user=user, operation="refund").count() == 1


def test_a_provider_down_before_the_stream_is_a_plain_503(server, user, fake_llm, give_credits, balance):
    give_credits(user, 1)
    fake_llm.script({"mode": "500"})
    conn, response = _post(server, "/api/v1/ai/chat/stream", {"message": "hi"}, user)
    body = json.loads(response.read())
    conn.close()
    assert response.status == 503 and body["error"]["code"] == "AI_SERVICE_UNAVAILABLE"
    assert balance(user) == 1


def test_a_client_disconnect_closes_the_provider_stream_at_once_and_refunds(
    server, user, fake_llm, give_credits, balance
):
    give_credits(user, 1)
    fake_llm.script({"chunks": ["First words ", "and then the provider goes quiet"], "mode": "stall"})
    conn, response = _post(server, "/api/v1/ai/chat/stream", {"message": "hi"}, user)
    first = next(_frames(response))
    assert json.loads(first[1]) == {"text": "First words "}
    left = time.monotonic()
    conn.sock.shutdown(socket.SHUT_RDWR)
    conn.close()
    assert fake_llm.client_gone.wait(3), "the provider stream was not closed"
    assert time.monotonic() - left < 2
    assert _wait_for(lambda: CreditEntry.objects.filter(user=user, operation="refund").exists())
    assert balance(user) == 1


def test_twenty_concurrent_chats_with_three_credits_exactly_three_succeed(
    server, user, fake_llm, give_credits, settings
):
    settings.RATE_LIMIT_AI = 0
    give_credits(user, 3)
    fake_llm.default = {"text": "ok", "delay": 0.5}

    def chat(_):
        conn, response = _post(server, "/api/v1/ai/chat", {"message": "hi"}, user)
        status = response.status
        response.read()
        conn.close()
        return status

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(chat, range(20)))
    assert sorted(statuses) == [200] * 3 + [402] * 17
    assert credit_selectors.credits_remaining(user=user) == 0
    account = CreditAccount.objects.get(user=user)
    assert account.total == 0 and credit_selectors.ledger_sums(user=user) == {
        t: getattr(account, t) for t in credit_selectors.ledger_sums(user=user)
    }
    assert len(fake_llm.requests) == 3


@pytest.mark.parametrize("operation", ["chat", "transcribe"])
def test_a_slow_provider_does_not_slow_the_api(
    operation, server, pro_user, make_task, fake_llm, fake_deepgram, give_credits, settings
):
    """40 calls (more than the bridge's HTTP_THREADS and the database pool) wait on the
    provider until the test lets it answer; GET /tasks meanwhile answers as usual."""
    settings.RATE_LIMIT_AI = 0
    settings.RATE_LIMIT_GENERAL = 0
    settings.AI_TIMEOUT_SECONDS = 30
    give_credits(pro_user, 40 * 5)
    for i in range(5):
        make_task(owner=pro_user, title=f"task {i}")
    fake_llm.default = {"text": "slow but sure", "hold": True}
    fake_deepgram.http_delay = 30
    path, body, provider = {
        "chat": (CHAT, {"message": "hi"}, fake_llm),
        "transcribe": (TRANSCRIBE, {"audio_url": AUDIO, "duration_seconds": 30}, fake_deepgram),
    }[operation]
    headers = {"Authorization": f"Bearer {access_token_for(user=pro_user)}"}

    def call(_):
        conn, response = _post(server, path, body, pro_user)
        status = response.status
        response.read()
        conn.close()
        return status

    def list_tasks():
        conn = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
        started = time.monotonic()
        conn.request("GET", "/api/v1/tasks", headers=headers)
        response = conn.getresponse()
        body = json.loads(response.read())
        conn.close()
        assert response.status == 200 and len(body["data"]) == 5
        return time.monotonic() - started

    baseline = max(list_tasks() for _ in range(3))
    with ThreadPoolExecutor(40) as pool:
        calls = [pool.submit(call, i) for i in range(40)]
        assert _wait_for(lambda: provider.in_flight == 40, seconds=15), f"only {provider.in_flight} in flight"
        during = [list_tasks() for _ in range(10)]
        still_waiting = provider.in_flight
        provider.release.set()
        statuses = [c.result() for c in calls]
    assert still_waiting == 40  # every GET ran while all 40 calls were waiting on the provider
    assert statuses == [200] * 40
    assert max(during) < max(0.5, 5 * baseline), (baseline, during)


def _hanging_call(operation: str, owner) -> tuple[str, dict]:
    """One request of `operation` (with a task or note of its own where it needs one)."""
    if operation == "generate_subtasks":
        return "/api/v1/ai/generate-subtasks", {"task_id": str(baker.make("tasks.Task", user=owner).pk)}
    if operation == "note_convert":
        return f"/api/v1/notes/{baker.make('notes.Note', user=owner, content='call the bank').pk}/convert", {}
    if operation == "transcribe":
        return TRANSCRIBE, {"audio_url": AUDIO, "duration_seconds": 30}
    return {"chat": CHAT, "chat_stream": "/api/v1/ai/chat/stream"}[operation], {"message": "hi"}


def _call(port, request, user) -> tuple[int, dict, float]:
    """POST one request; its status, JSON body and how long it took."""
    started = time.monotonic()
    conn, response = _post(port, *request, user)
    body = json.loads(response.read())
    conn.close()
    return response.status, body, time.monotonic() - started


@pytest.mark.parametrize("operation", ["chat", "chat_stream", "generate_subtasks", "note_convert", "transcribe"])
def test_a_hanging_provider_is_503_after_the_timeout_charges_nothing_and_holds_nothing(
    operation, server, pro_user, fake_llm, fake_deepgram, give_credits, balance, settings
):
    """More calls than the bridge has threads, each on a provider that never answers: each is
    503 in the error shape once AI_TIMEOUT_SECONDS passed, every reservation is refunded
    once, the provider saw each of its connections closed, and no thread is left behind."""
    settings.AI_TIMEOUT_SECONDS = 2  # room for a loaded machine to reach the provider at all
    settings.RATE_LIMIT_AI = 0
    give_credits(pro_user, 100)
    provider = fake_deepgram if operation == "transcribe" else fake_llm
    code = "TRANSCRIPTION_SERVICE_UNAVAILABLE" if operation == "transcribe" else "AI_SERVICE_UNAVAILABLE"
    fake_llm.default = {"mode": "hang"}  # silent until the client goes (at most 30 s)
    fake_deepgram.http_delay = 30
    requests = [_hanging_call(operation, pro_user) for _ in range(settings.HTTP_THREADS + 2)]
    failures = ("perpetua_ai_failures_total", {"endpoint": operation, "reason": "timeout"})
    failures_before = REGISTRY.get_sample_value(*failures) or 0
    threads_before = set(threading.enumerate())

    with ThreadPoolExecutor(len(requests)) as pool:
        results = list(pool.map(lambda request: _call(server, request, pro_user), requests))

    for status, body, took in results:
        assert status == 503 and body["error"]["code"] == code and body["error"]["request_id"], body
        assert settings.AI_TIMEOUT_SECONDS <= took < 12, took  # cut by the timeout, not by the 30 s hang
    assert balance(pro_user) == 100
    reservations = CreditReservation.objects.filter(user=pro_user)
    assert [r.state for r in reservations] == [ReservationState.REFUNDED] * len(requests)
    assert CreditEntry.objects.filter(user=pro_user, operation="refund").count() == len(requests)
    assert REGISTRY.get_sample_value(*failures) == failures_before + len(requests)
    if operation != "transcribe":
        actions = ActivityEntry.objects.filter(user=pro_user, entity_type="ai_chat").values_list("action", flat=True)
        assert list(actions) == [f"{operation}_failed"] * len(requests)
    # Every provider connection that was opened was closed by us (a loaded machine may cut
    # some calls before they reached the provider at all).
    received = fake_deepgram.http_requests if operation == "transcribe" else fake_llm.requests
    assert received
    assert _wait_for(lambda: provider.in_flight == 0 and provider.disconnects == len(received)), provider.disconnects
    assert _wait_for(lambda: not _new_threads(threads_before)), _new_threads(threads_before)


def _new_threads(before: set[threading.Thread]) -> set[threading.Thread]:
    """Threads started since `before`, but for the event loop's default executor: Django logs
    each error response of an async view there (`log_response`, thread_sensitive=False), on
    at most min(32, CPUs + 4) shared workers that then idle for the loop's life."""
    return {t for t in set(threading.enumerate()) - before if not t.name.startswith(("uvloop_", "asyncio_"))}


def test_a_client_leaving_a_slow_transcription_hangs_up_on_deepgram_and_is_refunded(
    server, pro_user, fake_deepgram, give_credits, balance
):
    give_credits(pro_user, 5)
    fake_deepgram.http_delay = 30
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    body = {"audio_url": AUDIO, "duration_seconds": 30}
    conn.request("POST", TRANSCRIBE, body=json.dumps(body), headers=_headers(pro_user))
    assert _wait_for(lambda: fake_deepgram.in_flight == 1)
    assert balance(pro_user) == 0  # reserved while Deepgram works
    conn.sock.shutdown(socket.SHUT_RDWR)
    conn.close()
    assert _wait_for(lambda: fake_deepgram.disconnects == 1), "the Deepgram request was not closed"
    assert _wait_for(lambda: balance(pro_user) == 5)
    (reservation,) = CreditReservation.objects.filter(user=pro_user)
    assert reservation.state == ReservationState.REFUNDED
