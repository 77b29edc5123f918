"""Voice (CONTRACT §8 `/ai/transcribe`, §9 the relay): who may transcribe, what it costs,
how it is charged, and what is kept when a session ends early. The HTTP view and the
WebSocket consumer call these; each rule is written here once.

* Pro only (TIER_REQUIRED), CONTRACT §16.
* AI_COST_TRANSCRIBE_PER_MINUTE (5) per started minute: 1-60 s cost 5, 61 s cost 10.
* `/ai/transcribe` reserves the declared duration's cost before calling Deepgram, commits
  it (less when Deepgram finds the file shorter) and refunds it all when Deepgram fails,
  is too slow or the call is abandoned. It is async: Deepgram is awaited on the event loop.
* The relay checks for one minute's worth before it starts and debits once, at the end,
  for the audio received, idempotently per session; a provider failure costs nothing.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction

from accounts.models import Tier
from ai.providers import deepgram
from ai.providers.deepgram import LiveResult, LiveTranscription
from credits import selectors as credits_selectors
from credits import services as credits_services
from notes import services as notes_services
from notes.models import CONTENT_MAX_LENGTH, Note, TranscriptionStatus
from perpetua.api.async_views import release_db
from perpetua.api.exceptions import (
    ApiError,
    InsufficientCredits,
    TierRequired,
    TranscriptionServiceUnavailable,
    field_error,
)
from perpetua.api.metrics import AI_CALLS, AI_FAILURES, AI_LATENCY
from recovery import services as recovery_services

logger = logging.getLogger(__name__)

CREDIT_REASON = "transcribe"  # the ledger's reason: "Voice transcription" in /credits/history
ACTIVITY_ENTITY_TYPE = "ai_chat"  # the SPA's activity enum has no voice type; AI calls log under ai_chat


def voice_check_allowed(*, user: Any) -> None:
    """Transcription and the relay are Pro features (CONTRACT §9, §16)."""
    if user.tier != Tier.PRO:
        raise TierRequired("Voice transcription requires Perpetua Pro.")


def voice_cost(*, seconds: float) -> int:
    """AI_COST_TRANSCRIBE_PER_MINUTE per started minute of audio; nothing for none."""
    if seconds <= 0:
        return 0
    return settings.AI_COST_TRANSCRIBE_PER_MINUTE * math.ceil(seconds / 60)


def voice_count(*, endpoint: str, started: float | None = None, failure: str | None = None) -> None:
    """/metrics: the shared AI counters, endpoint `transcribe` or `voice` (a relay session)."""
    if started is not None:
        AI_LATENCY.labels(endpoint=endpoint).observe(time.monotonic() - started)
    AI_CALLS.labels(endpoint=endpoint, outcome="failed" if failure else "ok").inc()
    if failure:
        AI_FAILURES.labels(endpoint=endpoint, reason=failure).inc()


# --- POST /ai/transcribe ---------------------------------------------------------------------


def check_audio_url(url: str) -> str:
    """`audio_url` is https on a host listed in TRANSCRIBE_ALLOWED_HOSTS (exact names, any
    case), without credentials: Deepgram fetches it, so it must never be an arbitrary URL."""
    parts = urlsplit(url)
    allowed = {host.strip().lower().rstrip(".") for host in settings.TRANSCRIBE_ALLOWED_HOSTS if host.strip()}
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme != "https" or not host:
        raise field_error("audio_url", "Must be an https URL.")
    if parts.username is not None or parts.password is not None:
        raise field_error("audio_url", "Must not carry credentials.")
    if host not in allowed:
        raise field_error("audio_url", "This host is not allowed for transcription.")
    return url


@dataclass(frozen=True)
class TranscribeResult:
    transcription: str
    language: str
    confidence: float
    credits_used: int
    credits_remaining: int


def _reserve(*, user: Any, cost: int) -> uuid.UUID:
    return credits_services.credits_reserve(user=user, amount=cost, reason=CREDIT_REASON).id


def _commit(*, user: Any, reservation_id: uuid.UUID, used: int, duration_seconds: int) -> int:
    """Keep `used` of the reservation (the rest goes back) and log the call, together."""
    with transaction.atomic():
        credits_services.credits_commit(reservation_id=reservation_id, amount=used)
        recovery_services.activity_record(
            user=user, entity_type=ACTIVITY_ENTITY_TYPE, entity_id=reservation_id, action="transcribed", source="ai",
            metadata={"endpoint": "transcribe", "duration_seconds": duration_seconds, "credits_used": used},
        )  # fmt: skip
    return credits_selectors.credits_remaining(user=user)


async def transcribe_url(*, user: Any, audio_url: str, duration_seconds: int) -> TranscribeResult:
    """POST /ai/transcribe (CONTRACT §8): reserve → Deepgram → commit, or refund on any
    failure (503 TRANSCRIPTION_SERVICE_UNAVAILABLE when Deepgram fails or is too slow) and
    when the call is cancelled (the client left). Deepgram is awaited on the event loop and
    the database steps give their connection back first (`release_db`), so a waiting call
    holds neither a thread nor a connection."""
    voice_check_allowed(user=user)
    check_audio_url(audio_url)
    try:
        deepgram.ensure_configured()
    except TranscriptionServiceUnavailable:
        voice_count(endpoint="transcribe", failure="unconfigured")
        raise
    cost = voice_cost(seconds=duration_seconds)
    reservation_id = await release_db(_reserve, user=user, cost=cost)
    started = time.monotonic()
    try:
        result = await deepgram.transcribe_url(url=audio_url)
    except BaseException as exc:
        reason = exc.reason if isinstance(exc, deepgram.DeepgramUnavailable) else "aborted"
        voice_count(endpoint="transcribe", started=started, failure=reason)
        await release_db(credits_services.credits_refund, reservation_id=reservation_id)
        raise
    voice_count(endpoint="transcribe", started=started)
    used = cost
    if result.duration_seconds:
        used = min(cost, voice_cost(seconds=math.ceil(result.duration_seconds)))
    remaining = await release_db(
        _commit, user=user, reservation_id=reservation_id, used=used, duration_seconds=duration_seconds
    )
    return TranscribeResult(
        transcription=result.text,
        language=result.language,
        confidence=result.confidence,
        credits_used=used,
        credits_remaining=remaining,
    )


# --- the relay (ai.consumers) --------------------------------------------------------------------


def voice_session_check(*, user: Any) -> int:
    """Before a relay starts (CONTRACT §9): Pro, and credits for at least one minute.
    Returns the credits the user has."""
    voice_check_allowed(user=user)
    remaining = credits_selectors.credits_remaining(user=user)
    needed = voice_cost(seconds=1)
    if remaining < needed:
        raise InsufficientCredits(
            f"Voice transcription needs at least {needed} credits (one minute); you have {remaining}.",
            required=needed, available=remaining,
        )  # fmt: skip
    return remaining


async def voice_relay_open(
    *, on_result: Callable[[LiveResult], Awaitable[None]], on_failure: Callable[[str], None]
) -> LiveTranscription:
    """Open the session's Deepgram live stream (nova-2, interim results); raises
    TranscriptionServiceUnavailable when Deepgram is unconfigured, unreachable or refuses."""
    transcriber = LiveTranscription(on_result=on_result, on_failure=on_failure)
    await transcriber.open()
    return transcriber


@dataclass(frozen=True)
class SessionCharge:
    credits_used: int
    credits_remaining: int


def voice_session_charge(*, user: Any, session_id: uuid.UUID, seconds: int, outcome: str) -> SessionCharge:
    """Charge a relay session once, at its end, for `seconds` of audio received (CONTRACT §9).

    Idempotent per session (the debit's ref). When the user spent credits elsewhere during
    the session and can no longer pay it all, what is left is taken: the audio was
    transcribed, and the balance never goes negative.
    """
    cost = voice_cost(seconds=seconds)
    used = 0
    ref = f"voice:{session_id}"
    while cost:
        try:
            used = sum(
                credits_services.credits_debit(user=user, amount=cost, reason=CREDIT_REASON, operation_ref=ref)
                .parts.values()
            )  # fmt: skip
            break
        except InsufficientCredits:
            available = credits_selectors.credits_remaining(user=user)
            logger.warning("voice session %s costs %s credits, the user has %s", session_id, cost, available)
            cost = min(cost - 1, available)
    recovery_services.activity_record(
        user=user, entity_type=ACTIVITY_ENTITY_TYPE, entity_id=session_id, action="transcribed", source="ai",
        metadata={"endpoint": "voice", "duration_seconds": seconds, "credits_used": used, "outcome": outcome},
    )  # fmt: skip
    voice_count(endpoint="voice")
    return SessionCharge(credits_used=used, credits_remaining=credits_selectors.credits_remaining(user=user))


def voice_session_keep(*, user: Any, transcript: str, seconds: int) -> Note | None:
    """A session the client left before `complete`: its final transcripts become a note
    (`transcription_status` completed) so nothing paid for is lost (CONTRACT §9). Nothing
    to keep, or no room for a note: logged, and None."""
    text = transcript.strip()[:CONTENT_MAX_LENGTH]
    if not text:
        return None
    duration = min(max(seconds, 1), settings.MAX_VOICE_DURATION_SECONDS)
    try:
        return notes_services.note_create(
            user=user, content=text, voice_duration_seconds=duration,
            transcription_status=TranscriptionStatus.COMPLETED, source="ai",
        )  # fmt: skip
    except ApiError as exc:
        logger.warning("voice transcript of %s s not kept as a note (%s): %s", seconds, exc.code, text)
        return None
