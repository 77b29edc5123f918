"""The AI routes on the production server (uvicorn + `perpetua.asgi`) over real sockets:
server-sent event framing, failures mid-stream, a client disconnect, concurrent spending,
and a slow provider that must not slow the rest of the API."""

from __future__ import annotations

import http.client
import json
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from accounts.tokens import access_token_for
from credits import selectors as credit_selectors
from credits.models import CreditAccount, CreditEntry
from perpetua.asgi import application
from perpetua.tests.serving import serve

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server():
    yield from serve(application)


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
    fake_llm.script({"chunks": ["Hel", "lo ", "world"], "chunk_delay": 0.4})
    conn, response = _post(server, "/api/v1/ai/chat/stream", {"message": "hi"}, user)
    assert response.status == 200
    assert response.getheader("Content-Type").startswith("text/event-stream")
    assert response.getheader("X-Request-ID")
    frames, arrived = [], []
    for frame in _frames(response):
        frames.append(frame)
        arrived.append(time.monotonic())
    conn.close()
    texts = [json.loads(data)["text"] for event, data in frames[:3]]
    assert texts == ["Hel", "lo ", "world"]
    # Flushed as they came, not buffered to the end (buffered frames arrive together; a
    # loaded machine may delay the first frame, so less than one of the two 0.4 s gaps).
    assert arrived[2] - arrived[0] > 0.3
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


def test_a_slow_provider_does_not_slow_the_api(server, user, make_task, fake_llm, give_credits, settings):
    """40 chats wait 3 s each on the provider; GET /tasks meanwhile answers as usual."""
    settings.RATE_LIMIT_AI = 0
    settings.RATE_LIMIT_GENERAL = 0
    give_credits(user, 40)
    for i in range(5):
        make_task(title=f"task {i}")
    fake_llm.default = {"text": "slow but sure", "delay": 3}
    headers = {"Authorization": f"Bearer {access_token_for(user=user)}"}

    def chat(_):
        conn, response = _post(server, "/api/v1/ai/chat", {"message": "hi"}, user)
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
        chats = [pool.submit(chat, i) for i in range(40)]
        assert _wait_for(lambda: fake_llm.in_flight == 40, seconds=3), f"only {fake_llm.in_flight} in flight"
        during = [list_tasks() for _ in range(10)]
        still_waiting = fake_llm.in_flight
        statuses = [c.result() for c in chats]
    assert still_waiting == 40  # every GET ran while all 40 chats were waiting on the provider
    assert statuses == [200] * 40
    assert max(during) < max(0.5, 5 * baseline), (baseline, during)
