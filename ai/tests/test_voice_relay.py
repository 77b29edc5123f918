"""The voice relay WebSocket (CONTRACT §9) through the real ASGI application, against the
fake Deepgram live API driven by the real deepgram-sdk: auth, Pro only, the credit check,
interim and final transcripts, `complete`, the cap, a client leaving, Deepgram failing."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async as sync_to_async
from channels.testing import WebsocketCommunicator

from accounts.tokens import access_token_for
from ai.providers.deepgram import LiveTranscription
from ai.tests.fake_deepgram import FakeDeepgram, serve_fake_deepgram
from credits import selectors as credits_selectors
from credits import services as credits_services
from credits.models import CreditEntry
from notes.models import Note
from perpetua.asgi import application

PATH = "/api/v1/ws/voice/transcribe"
ORIGIN = [(b"origin", b"http://localhost:3000")]
TIMEOUT = 5

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fake_deepgram(settings):
    with serve_fake_deepgram(settings) as fake:
        yield fake


@pytest.fixture
def pro(pro_user):
    credits_services.credits_grant(user=pro_user, credit_type="purchased", amount=20, reason="admin")
    return pro_user


async def _open(user=None, *, token: str | None = None) -> WebsocketCommunicator:
    token = token or (access_token_for(user=user) if user else None)
    path = f"{PATH}?token={token}" if token else PATH
    communicator = WebsocketCommunicator(application, path, headers=ORIGIN)
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected  # accepted: every refusal is a message then a close
    return communicator


async def _receive(communicator: WebsocketCommunicator) -> dict:
    return await communicator.receive_json_from(timeout=TIMEOUT)


async def _closed_with(communicator: WebsocketCommunicator) -> int:
    output = await communicator.receive_output(timeout=TIMEOUT)
    assert output["type"] == "websocket.close", output
    return output["code"]


async def _start(user) -> tuple[WebsocketCommunicator, dict]:
    communicator = await _open(user)
    connected = await _receive(communicator)
    assert connected["type"] == "connected", connected
    return communicator, connected


def _balance(user) -> int:
    return credits_selectors.credits_remaining(user=user)


def _voice_debits(user) -> list[tuple[str, int]]:
    return list(CreditEntry.objects.filter(user_id=user.pk, reason="transcribe").values_list("operation", "amount"))


# --- refusals --------------------------------------------------------------------------------


async def test_a_free_user_gets_tier_required_then_the_socket_closes(make_user, fake_deepgram: FakeDeepgram):
    free = await sync_to_async(make_user)()
    communicator = await _open(free)

    error = await _receive(communicator)
    assert error["type"] == "error" and error["code"] == "TIER_REQUIRED"
    assert await _closed_with(communicator) == 4403
    assert fake_deepgram.sessions == []


async def test_a_pro_user_without_a_minute_of_credits_gets_insufficient_credits(pro_user, fake_deepgram):
    await sync_to_async(credits_services.credits_grant)(
        user=pro_user, credit_type="purchased", amount=4, reason="admin"
    )
    communicator = await _open(pro_user)

    error = await _receive(communicator)
    assert error["type"] == "error" and error["code"] == "INSUFFICIENT_CREDITS"
    assert await _closed_with(communicator) == 4402
    assert fake_deepgram.sessions == [] and await sync_to_async(_balance)(pro_user) == 4


async def test_a_bad_token_is_unauthorized(fake_deepgram):
    communicator = await _open(token="not-a-jwt")

    error = await _receive(communicator)
    assert error == {"type": "error", "code": "UNAUTHORIZED", "message": "Invalid access token."}
    assert await _closed_with(communicator) == 4401


async def test_audio_before_authenticating_is_unauthorized(fake_deepgram):
    communicator = await _open()
    await communicator.send_to(bytes_data=b"\x1a\x45\xdf\xa3")

    assert (await _receive(communicator))["code"] == "UNAUTHORIZED"
    assert await _closed_with(communicator) == 4401
    assert fake_deepgram.sessions == []


async def test_a_socket_that_never_authenticates_is_closed(settings, fake_deepgram):
    settings.VOICE_AUTH_TIMEOUT_SECONDS = 0.2
    communicator = await _open()

    assert (await _receive(communicator))["code"] == "UNAUTHORIZED"
    assert await _closed_with(communicator) == 4401


async def test_deepgram_refusing_the_stream_is_transcription_failed_before_connected(pro, fake_deepgram):
    fake_deepgram.reject_status = 401
    communicator = await _open(pro)

    assert (await _receive(communicator))["code"] == "TRANSCRIPTION_FAILED"
    assert await _closed_with(communicator) == 4503
    assert await sync_to_async(_balance)(pro) == 20


# --- a session -------------------------------------------------------------------------------


async def test_auth_by_first_message_relays_interim_and_final_transcripts_then_complete(pro, fake_deepgram):
    fake_deepgram.transcripts = ["hello world", "buy more milk"]
    fake_deepgram.seconds_per_frame = 40.0  # two frames: 80 s, two started minutes
    communicator = await _open()
    await communicator.send_json_to({"type": "auth", "token": access_token_for(user=pro)})
    connected = await _receive(communicator)
    assert connected["type"] == "connected" and connected["max_duration_seconds"] == 300
    assert connected["session_id"]

    await communicator.send_to(bytes_data=b"webm-frame-1")
    assert await _receive(communicator) == {"type": "transcript", "text": "hello", "is_final": False, "confidence": 0.6}
    assert await _receive(communicator) == {
        "type": "transcript", "text": "hello world", "is_final": True, "confidence": 0.9,
    }  # fmt: skip
    await communicator.send_to(bytes_data=b"webm-frame-2")
    assert (await _receive(communicator))["is_final"] is False
    assert (await _receive(communicator))["text"] == "buy more milk"
    await communicator.send_json_to({"type": "end_stream"})

    assert await _receive(communicator) == {
        "type": "complete",
        "full_transcript": "hello world buy more milk",
        "duration_seconds": 80,
        "credits_used": 10,
        "credits_remaining": 10,
    }
    assert await _closed_with(communicator) == 1000
    (session,) = fake_deepgram.sessions
    assert session.frames == [b"webm-frame-1", b"webm-frame-2"]
    assert session.controls == [{"type": "CloseStream"}]
    assert session.query["model"] == "nova-2" and session.query["interim_results"] == "true"
    assert "encoding" not in session.query and "sample_rate" not in session.query  # WebM: Deepgram reads the container
    assert session.headers["Authorization"] == "Token dg-test-key"
    assert await sync_to_async(_voice_debits)(pro) == [("consume", -10)]  # charged once, at the end


async def test_frames_over_32_kb_are_refused_and_the_session_goes_on(pro, fake_deepgram):
    fake_deepgram.transcripts = ["short one"]
    communicator, _ = await _start(pro)

    await communicator.send_to(bytes_data=b"x" * (32 * 1024 + 1))
    error = await _receive(communicator)
    assert error["type"] == "error" and error["code"] == "PAYLOAD_TOO_LARGE"
    await communicator.send_to(bytes_data=b"y" * (32 * 1024))
    assert (await _receive(communicator))["type"] == "transcript"
    assert (await _receive(communicator))["text"] == "short one"
    await communicator.send_json_to({"type": "end_stream"})

    complete = await _receive(communicator)
    assert complete["type"] == "complete" and complete["credits_used"] == 5
    assert [len(frame) for frame in fake_deepgram.sessions[0].frames] == [32 * 1024]


async def test_the_session_ends_itself_at_the_cap_with_the_transcript_so_far(pro, fake_deepgram, settings):
    settings.MAX_VOICE_DURATION_SECONDS = 1
    fake_deepgram.transcripts = ["almost out of time"]
    fake_deepgram.seconds_per_frame = 0.5
    communicator, connected = await _start(pro)
    assert connected["max_duration_seconds"] == 1

    await communicator.send_to(bytes_data=b"frame")
    assert (await _receive(communicator))["is_final"] is False
    assert (await _receive(communicator))["is_final"] is True
    # No end_stream: the cap ends it.
    error = await _receive(communicator)
    assert error["type"] == "error" and error["code"] == "MAX_DURATION_EXCEEDED"
    assert await _receive(communicator) == {
        "type": "complete",
        "full_transcript": "almost out of time",
        "duration_seconds": 1,
        "credits_used": 5,
        "credits_remaining": 15,
    }
    assert await _closed_with(communicator) == 4408
    assert fake_deepgram.sessions[0].controls == [{"type": "CloseStream"}]


async def test_a_client_leaving_keeps_its_finals_as_a_note_and_pays_only_the_audio_received(pro, fake_deepgram):
    fake_deepgram.transcripts = ["first thought", "second thought"]
    fake_deepgram.seconds_per_frame = 35.0  # 70 s received: two started minutes, not the 300 s cap
    communicator, _ = await _start(pro)
    for frame in (b"frame-1", b"frame-2"):
        await communicator.send_to(bytes_data=frame)
        await _receive(communicator)
        await _receive(communicator)

    await communicator.disconnect(timeout=TIMEOUT)

    assert await sync_to_async(_voice_debits)(pro) == [("consume", -10)]
    assert await sync_to_async(_balance)(pro) == 10
    notes = await sync_to_async(list)(Note.objects.filter(user_id=pro.pk).values())
    assert len(notes) == 1
    assert notes[0]["content"] == "first thought second thought"
    assert notes[0]["transcription_status"] == "completed" and notes[0]["voice_duration_seconds"] == 70
    assert fake_deepgram.sessions[0].controls == [{"type": "CloseStream"}]  # Deepgram was told to finish


async def test_deepgram_failing_mid_session_is_transcription_failed_with_the_transcript_so_far(pro, fake_deepgram):
    fake_deepgram.transcripts = ["one", "two", "three"]
    fake_deepgram.fail_after_frames = 2
    communicator, _ = await _start(pro)
    await communicator.send_to(bytes_data=b"frame-1")
    await _receive(communicator)
    await _receive(communicator)
    await communicator.send_to(bytes_data=b"frame-2")
    await _receive(communicator)
    assert (await _receive(communicator))["text"] == "two"

    error = await _receive(communicator)
    assert error["type"] == "error" and error["code"] == "TRANSCRIPTION_FAILED"
    assert error["full_transcript"] == "one two"
    assert await _closed_with(communicator) == 4503
    assert await sync_to_async(_voice_debits)(pro) == []  # a provider failure costs nothing
    assert await sync_to_async(_balance)(pro) == 20


async def test_credits_spent_elsewhere_during_a_session_leave_the_balance_at_zero_not_below(pro, fake_deepgram):
    fake_deepgram.transcripts = ["long note"]
    fake_deepgram.seconds_per_frame = 80.0  # costs 10
    communicator, _ = await _start(pro)
    await communicator.send_to(bytes_data=b"frame")
    await _receive(communicator)
    await _receive(communicator)
    await sync_to_async(credits_services.credits_debit)(user=pro, amount=18, reason="chat")

    await communicator.send_json_to({"type": "end_stream"})

    complete = await _receive(communicator)
    assert complete["credits_used"] == 2 and complete["credits_remaining"] == 0
    assert await sync_to_async(_balance)(pro) == 0


async def test_a_silent_client_keeps_the_deepgram_stream_alive(pro, fake_deepgram, monkeypatch):
    monkeypatch.setattr(LiveTranscription, "KEEPALIVE_SECONDS", 0.2)
    communicator, _ = await _start(pro)
    await asyncio.sleep(0.7)  # no audio: Deepgram would close a stream silent for 10 s
    await communicator.send_json_to({"type": "end_stream"})

    assert (await _receive(communicator))["type"] == "complete"
    controls = [control["type"] for control in fake_deepgram.sessions[0].controls]
    assert controls[-1] == "CloseStream" and controls.count("KeepAlive") >= 2
