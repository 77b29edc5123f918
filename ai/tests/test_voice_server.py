"""The voice relay behind the production server (uvicorn with `perpetua.server` options),
reached by a real WebSocket client: refusals arrive as a message and a close code, not
as an HTTP 403, a whole session works end to end against the fake Deepgram, and a
Deepgram that hangs at connect ends the session at AI_TIMEOUT_SECONDS."""

from __future__ import annotations

import json
import threading
import time

import pytest
import websockets.sync.client
from websockets.exceptions import ConnectionClosed

from accounts.tokens import access_token_for
from ai.tests.fake_deepgram import serve_fake_deepgram
from credits import selectors as credits_selectors
from credits import services as credits_services
from perpetua.asgi import application
from perpetua.tests.serving import serve

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = "http://localhost:3000"


@pytest.fixture
def fake_deepgram(settings):
    with serve_fake_deepgram(settings) as fake:
        yield fake


@pytest.fixture
def server_port():
    yield from serve(application)


def _connect(port: int, user) -> websockets.sync.client.ClientConnection:
    url = f"ws://127.0.0.1:{port}/api/v1/ws/voice/transcribe?token={access_token_for(user=user)}"
    return websockets.sync.client.connect(url, origin=ORIGIN, open_timeout=5)


def test_a_free_user_reads_the_error_then_the_close_code(server_port, user, fake_deepgram):
    with _connect(server_port, user) as ws:
        error = json.loads(ws.recv(timeout=5))
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    assert error["code"] == "TIER_REQUIRED"
    assert ws.close_code == 4403


def test_a_whole_session_through_the_production_server(server_port, pro_user, fake_deepgram):
    credits_services.credits_grant(user=pro_user, credit_type="purchased", amount=20, reason="admin")
    fake_deepgram.transcripts = ["call mom tonight"]
    fake_deepgram.seconds_per_frame = 12.0
    with _connect(server_port, pro_user) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "connected"
        ws.send(b"\x1a\x45\xdf\xa3webm")
        messages = [json.loads(ws.recv(timeout=5)) for _ in range(2)]
        ws.send(json.dumps({"type": "end_stream"}))
        complete = json.loads(ws.recv(timeout=5))
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)

    assert [m["is_final"] for m in messages] == [False, True]
    assert complete == {
        "type": "complete", "full_transcript": "call mom tonight", "duration_seconds": 12,
        "credits_used": 5, "credits_remaining": 15,
    }  # fmt: skip
    assert ws.close_code == 1000
    assert credits_selectors.credits_remaining(user=pro_user) == 15
    assert fake_deepgram.sessions[0].frames == [b"\x1a\x45\xdf\xa3webm"]


def test_deepgram_hanging_at_connect_is_transcription_failed_at_the_timeout(
    server_port, user, pro_user, fake_deepgram, settings
):
    settings.AI_TIMEOUT_SECONDS = 1
    credits_services.credits_grant(user=pro_user, credit_type="purchased", amount=20, reason="admin")
    fake_deepgram.connect_delay = 30  # the handshake is never answered in time
    with _connect(server_port, user) as ws:  # a refused session first: threads started once are in the baseline
        assert json.loads(ws.recv(timeout=5))["code"] == "TIER_REQUIRED"
    threads_before = set(threading.enumerate())
    started = time.monotonic()
    with _connect(server_port, pro_user) as ws:
        error = json.loads(ws.recv(timeout=10))
        took = time.monotonic() - started
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)

    assert error["type"] == "error" and error["code"] == "TRANSCRIPTION_FAILED"
    assert settings.AI_TIMEOUT_SECONDS <= took < 10, took  # cut by the timeout, not by the 30 s hang
    assert ws.close_code == 4503
    assert credits_selectors.credits_remaining(user=pro_user) == 20
    deadline = time.monotonic() + 5
    while (fake_deepgram.disconnects, set(threading.enumerate()) <= threads_before) != (1, True):
        assert time.monotonic() < deadline, (fake_deepgram.disconnects, set(threading.enumerate()) - threads_before)
        time.sleep(0.02)
