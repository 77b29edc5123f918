"""The voice relay, WebSocket `/api/v1/ws/voice/transcribe` (CONTRACT §9).

The browser streams WebM/Opus frames; each is relayed to Deepgram's live API
(`ai.services.voice.voice_relay_open`) and Deepgram's transcripts come back as
`transcript` messages. One session:

1. accept, then authenticate: `?token=<access JWT>`, else a first text message
   `{"type": "auth", "token"}` within VOICE_AUTH_TIMEOUT_SECONDS;
2. check Pro and credits for one minute (`ai.services.voice.voice_session_check`), open
   Deepgram, send `connected`;
3. relay binary frames (over VOICE_MAX_FRAME_BYTES: refused with a PAYLOAD_TOO_LARGE
   message, not relayed, the session goes on);
4. end, exactly once, by the first of: `end_stream` → `complete`; the cap
   (MAX_VOICE_DURATION_SECONDS after `connected`) → MAX_DURATION_EXCEEDED then
   `complete`; Deepgram failing → TRANSCRIPTION_FAILED with the transcript so far, nothing
   charged; the client leaving → its finals kept as a note. All but a failure charge once
   for the audio received (`voice_session_charge`).

Errors are messages sent after `accept()` (a close before it reaches a browser as a bare
HTTP 403), followed by a close with the code below.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from accounts.selectors import user_get_for_access_token
from ai.services import voice as voice_services
from perpetua.api.exceptions import ApiError, TranscriptionServiceUnavailable

logger = logging.getLogger(__name__)

# Close codes: 4000 + the HTTP status the same error has elsewhere; 1000 after `complete`.
CLOSE_CODES = {
    "UNAUTHORIZED": 4401,
    "INSUFFICIENT_CREDITS": 4402,
    "TIER_REQUIRED": 4403,
    "MAX_DURATION_EXCEEDED": 4408,
    "TRANSCRIPTION_FAILED": 4503,
}
CLOSE_NORMAL = 1000
# How long Deepgram may take to flush its last finals after CloseStream.
FINISH_TIMEOUT_SECONDS = 5.0

_authenticate = database_sync_to_async(user_get_for_access_token)
_session_check = database_sync_to_async(voice_services.voice_session_check)
_session_charge = database_sync_to_async(voice_services.voice_session_charge)
_session_keep = database_sync_to_async(voice_services.voice_session_keep)


def _json(text: str | None) -> dict[str, Any]:
    try:
        message = json.loads(text) if text else None
    except ValueError:
        return {}
    return message if isinstance(message, dict) else {}


class VoiceTranscribeConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.session_id = uuid.uuid4()
        self.user: Any = None
        self.transcriber: voice_services.LiveTranscription | None = None
        self.finals: list[str] = []
        self.first_frame_at: float | None = None
        self.last_frame_at: float | None = None
        self.client_gone = False
        self.refused = False
        self._ending: asyncio.Task[None] | None = None
        self._timers: list[asyncio.Task[None]] = []
        await self.accept()
        token = parse_qs(self.scope.get("query_string", b"").decode("latin-1")).get("token")
        if token:
            await self._start(token[-1])
        else:
            self._timers.append(asyncio.create_task(self._auth_deadline()))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self._ending is not None or self.refused:
            return  # ending or refused: late frames and messages are not part of the session
        if self.user is None:
            message = _json(text_data)
            if message.get("type") == "auth" and isinstance(message.get("token"), str) and message["token"]:
                self._cancel_timers()
                await self._start(message["token"])
            else:
                await self._refuse("UNAUTHORIZED", 'Authenticate first: ?token= or {"type": "auth", "token"}.')
            return
        if bytes_data is not None:
            await self._relay(bytes_data)
        elif _json(text_data).get("type") == "end_stream":
            await self._end("end_stream")

    async def disconnect(self, code: int) -> None:
        self.client_gone = True
        self._cancel_timers()
        if self.transcriber is not None:
            await self._end("disconnect")

    # --- steps ------------------------------------------------------------------------------

    async def _start(self, token: str) -> None:
        try:
            user, _claims = await _authenticate(token=token)
        except ApiError as exc:
            await self._refuse("UNAUTHORIZED", exc.message)
            return
        try:
            await _session_check(user=user)
        except ApiError as exc:  # TIER_REQUIRED, INSUFFICIENT_CREDITS
            await self._refuse(exc.code, exc.message)
            return
        self.user = user
        try:
            transcriber = await voice_services.voice_relay_open(on_result=self._on_result, on_failure=self._on_failure)
        except TranscriptionServiceUnavailable as exc:
            await self._refuse("TRANSCRIPTION_FAILED", exc.message)
            return
        self.transcriber = transcriber
        self._timers.append(asyncio.create_task(self._cap_deadline()))
        await self._send_json(
            {
                "type": "connected",
                "session_id": str(self.session_id),
                "max_duration_seconds": settings.MAX_VOICE_DURATION_SECONDS,
            }
        )

    async def _relay(self, frame: bytes) -> None:
        limit = settings.VOICE_MAX_FRAME_BYTES
        if len(frame) > limit:
            await self._send_error("PAYLOAD_TOO_LARGE", f"Frames are at most {limit} bytes; this one was dropped.")
            return
        now = time.monotonic()
        if self.first_frame_at is None:
            self.first_frame_at = now
        self.last_frame_at = now
        assert self.transcriber is not None
        with contextlib.suppress(TranscriptionServiceUnavailable):  # the failure callback ends the session
            await self.transcriber.send(frame)

    def _end(self, reason: str) -> asyncio.Task[None]:
        """The session's one ending; later callers get the same task."""
        if self._ending is None:
            self._ending = asyncio.create_task(self._finish(reason))
        return self._ending

    async def _finish(self, reason: str) -> None:
        self._cancel_timers()
        transcriber = self.transcriber
        assert transcriber is not None
        transcript = " ".join(self.finals)
        if reason == "failed":
            await transcriber.abort()
            await self._send_json(
                {
                    "type": "error",
                    "code": "TRANSCRIPTION_FAILED",
                    "message": "Transcription failed; nothing was charged.",
                    "full_transcript": transcript,
                }
            )
            await self._close(CLOSE_CODES["TRANSCRIPTION_FAILED"])
            voice_services.voice_count(endpoint="voice", failure="error")
            logger.warning("voice session %s: deepgram failed after %s final(s)", self.session_id, len(self.finals))
            return
        processed = await transcriber.close(timeout=FINISH_TIMEOUT_SECONDS)
        transcript = " ".join(self.finals)  # with the finals Deepgram flushed on close
        seconds = math.ceil(min(self._received_seconds(processed), settings.MAX_VOICE_DURATION_SECONDS))
        charge = await _session_charge(user=self.user, session_id=self.session_id, seconds=seconds, outcome=reason)
        if reason == "disconnect":
            await _session_keep(user=self.user, transcript=transcript, seconds=seconds)
            return
        if reason == "max_duration":
            await self._send_error(
                "MAX_DURATION_EXCEEDED",
                f"The session reached {settings.MAX_VOICE_DURATION_SECONDS} s and was ended; the transcript follows.",
            )
        await self._send_json(
            {
                "type": "complete",
                "full_transcript": transcript,
                "duration_seconds": seconds,
                "credits_used": charge.credits_used,
                "credits_remaining": charge.credits_remaining,
            }
        )
        await self._close(CLOSE_CODES["MAX_DURATION_EXCEEDED"] if reason == "max_duration" else CLOSE_NORMAL)

    def _received_seconds(self, processed: float | None) -> float:
        """The audio Deepgram reports as processed, else the time between the first and last frame (§9)."""
        if processed:
            return processed
        if self.first_frame_at is None or self.last_frame_at is None:
            return 0.0
        return self.last_frame_at - self.first_frame_at

    # --- Deepgram's side ----------------------------------------------------------------------

    async def _on_result(self, result: voice_services.LiveResult) -> None:
        if result.is_final:
            self.finals.append(result.text)
        await self._send_json(
            {"type": "transcript", "text": result.text, "is_final": result.is_final, "confidence": result.confidence}
        )

    def _on_failure(self, reason: str) -> None:
        self._end("failed")  # not awaited: this runs inside the Deepgram listener the ending stops

    # --- timers ---------------------------------------------------------------------------------

    async def _auth_deadline(self) -> None:
        await asyncio.sleep(settings.VOICE_AUTH_TIMEOUT_SECONDS)
        if self.user is None:
            await self._refuse("UNAUTHORIZED", "No auth message arrived in time.")

    async def _cap_deadline(self) -> None:
        await asyncio.sleep(settings.MAX_VOICE_DURATION_SECONDS)
        self._end("max_duration")

    def _cancel_timers(self) -> None:
        current = asyncio.current_task()
        for timer in self._timers:
            if timer is not current:
                timer.cancel()
        self._timers.clear()

    # --- sending --------------------------------------------------------------------------------

    async def _refuse(self, code: str, message: str) -> None:
        self.refused = True
        await self._send_error(code, message)
        await self._close(CLOSE_CODES.get(code, CLOSE_CODES["UNAUTHORIZED"]))

    async def _send_error(self, code: str, message: str) -> None:
        await self._send_json({"type": "error", "code": code, "message": message})

    async def _send_json(self, message: dict[str, Any]) -> None:
        if self.client_gone:
            return
        try:
            await self.send(text_data=json.dumps(message))
        except Exception:  # the client left while we were sending; the ending still runs
            self.client_gone = True

    async def _close(self, code: int) -> None:
        if self.client_gone:
            return
        with contextlib.suppress(Exception):
            await self.close(code=code)
