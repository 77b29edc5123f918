"""Deepgram, the one module that talks to it (CONTRACT §8 `/ai/transcribe`, §9 the voice relay).

Both APIs go through deepgram-sdk 7, pointed at `DEEPGRAM_BASE_URL` (the SDK reads no
environment variable for its URL, `../shared/LIBRARY_NOTES.md`): the live WebSocket API
for the relay and the pre-recorded REST API (same host, http(s) instead of ws(s)) for a
transcription by URL. Whatever goes wrong on Deepgram's side reaches callers as one
exception, `TranscriptionServiceUnavailable`; the SDK's own errors stay in here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from deepgram import AsyncDeepgramClient, DeepgramClientEnvironment
from deepgram.core.events import EventType
from deepgram.listen.v1 import ListenV1Error, ListenV1Metadata, ListenV1Results
from django.conf import settings

from ai.providers.loop_clients import PerLoop
from perpetua.api.exceptions import TranscriptionServiceUnavailable

logger = logging.getLogger(__name__)

MODEL = "nova-2"
_REST_SCHEMES = {"wss": "https", "ws": "http", "https": "https", "http": "http"}
_LIVE_SCHEMES = {"https": "wss", "http": "ws", "wss": "wss", "ws": "ws"}


def deepgram_environment() -> DeepgramClientEnvironment:
    """`DEEPGRAM_BASE_URL` (e.g. `wss://api.deepgram.com` or `ws://127.0.0.1:PORT`) as the
    SDK's environment: ws(s) for the live API, http(s) on the same host for REST."""
    parts = urlsplit(settings.DEEPGRAM_BASE_URL.rstrip("/"))
    if parts.scheme not in _REST_SCHEMES or not parts.netloc:
        raise TranscriptionServiceUnavailable("DEEPGRAM_BASE_URL is not a ws(s):// or http(s):// URL.")
    rest = urlunsplit((_REST_SCHEMES[parts.scheme], parts.netloc, parts.path, "", ""))
    live = urlunsplit((_LIVE_SCHEMES[parts.scheme], parts.netloc, parts.path, "", ""))
    return DeepgramClientEnvironment(base=rest, production=live, agent=live, agent_rest=rest)


def _api_key() -> str:
    if not settings.DEEPGRAM_API_KEY:
        raise TranscriptionServiceUnavailable("Transcription is not configured.")
    return settings.DEEPGRAM_API_KEY


def ensure_configured() -> None:
    """Before any credit moves: a key and a usable DEEPGRAM_BASE_URL, else 503."""
    _api_key()
    deepgram_environment()


# --- pre-recorded: one file by URL -----------------------------------------------------------


class DeepgramUnavailable(TranscriptionServiceUnavailable):
    """Deepgram failed a transcription by URL; `reason` (timeout | error) for logs and metrics."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Transcription:
    text: str
    language: str
    confidence: float
    duration_seconds: float | None


def _build_rest_client(api_key: str, _base_url: str, timeout: float) -> AsyncDeepgramClient:
    return AsyncDeepgramClient(
        api_key=api_key,
        environment=deepgram_environment(),
        httpx_client=httpx.AsyncClient(timeout=timeout),
        timeout=timeout,
        max_retries=0,
    )


# The pre-recorded API's client, per loop (DEEPGRAM_BASE_URL is part of its configuration).
_rest_clients = PerLoop(_build_rest_client)


def _rest_client() -> AsyncDeepgramClient:
    return _rest_clients.get(_api_key(), settings.DEEPGRAM_BASE_URL, settings.AI_TIMEOUT_SECONDS)


async def transcribe_url(*, url: str) -> Transcription:
    """Deepgram fetches and transcribes `url` (the caller checked the host). One attempt,
    AI_TIMEOUT_SECONDS for the whole call (a retry would only make the user wait longer),
    awaited on the event loop: a slow Deepgram holds no thread. At the deadline, or when
    the caller is cancelled, the HTTP connection to Deepgram is closed (httpx drops a
    connection whose response was not read to its end)."""
    timeout = settings.AI_TIMEOUT_SECONDS
    try:
        client = _rest_client()
        async with asyncio.timeout(timeout):
            response = await client.listen.v1.media.transcribe_url(
                url=url, model=MODEL, smart_format=True, punctuate=True, detect_language=True
            )
        return _transcription(response)
    except (TimeoutError, httpx.TimeoutException) as exc:
        logger.warning("deepgram pre-recorded transcription timed out after %s s", timeout)
        raise DeepgramUnavailable("timeout", "The transcription service did not answer in time.") from exc
    except Exception as exc:  # the SDK's errors (ApiError, httpx errors, malformed bodies) end here
        logger.warning("deepgram pre-recorded transcription failed: %s", exc.__class__.__name__, exc_info=True)
        raise DeepgramUnavailable("error") from exc


def _transcription(response: Any) -> Transcription:
    channel = response.results.channels[0]
    best = channel.alternatives[0]
    confidence = float(best.confidence or 0.0)
    duration = response.metadata.duration
    return Transcription(
        text=best.transcript or "",
        # nova-2 transcribes English unless told otherwise, which is what it did when none is detected.
        language=channel.detected_language or "en",
        confidence=min(max(confidence, 0.0), 1.0),
        duration_seconds=float(duration) if duration is not None else None,
    )


# --- live: the voice relay -------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveResult:
    """One Results message: an interim (`is_final` false) or final transcript of a stretch of audio."""

    text: str
    is_final: bool
    confidence: float


class LiveTranscription:
    """One Deepgram live session (model nova-2, interim results on). WebM/Opus is sent as
    is: no `encoding`/`sample_rate`, Deepgram reads the container.

    `open()`, then `send(frame)` for each audio frame, then `close()` (CloseStream: Deepgram
    flushes its last finals, reports the processed duration and closes) or `abort()`.
    Non-empty transcripts go to `on_result`; a failure of Deepgram before `close()` was
    asked for goes to `on_failure`, once. While the client sends no audio a KeepAlive goes
    out every KEEPALIVE_SECONDS: Deepgram closes a stream that is silent for 10 s.
    """

    KEEPALIVE_SECONDS = 5.0

    def __init__(
        self,
        *,
        on_result: Callable[[LiveResult], Awaitable[None]],
        on_failure: Callable[[str], Awaitable[None] | None],
        connect_timeout: float | None = None,
    ) -> None:
        self._on_result = on_result
        self._on_failure = on_failure
        self._connect_timeout = connect_timeout if connect_timeout is not None else settings.AI_TIMEOUT_SECONDS
        self._stack = contextlib.AsyncExitStack()
        self._connection: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self._last_sent = 0.0
        self._closing = False
        self._failed = False
        self._results_end = 0.0  # end of the last stretch of audio Deepgram transcribed
        self._metadata_duration: float | None = None

    @property
    def processed_seconds(self) -> float | None:
        """The audio Deepgram reports as processed (its Metadata, else its last result), if any."""
        known = [value for value in (self._metadata_duration, self._results_end) if value]
        return max(known) if known else None

    async def open(self) -> None:
        client = AsyncDeepgramClient(api_key=_api_key(), environment=deepgram_environment())
        try:
            async with asyncio.timeout(self._connect_timeout):
                self._connection = await self._stack.enter_async_context(
                    client.listen.v1.connect(model=MODEL, interim_results="true", punctuate="true", smart_format="true")
                )
        except Exception as exc:  # refused handshake (ApiError 401/5xx), unreachable host, timeout
            logger.warning("deepgram live connection failed: %s", exc.__class__.__name__, exc_info=True)
            await self._stack.aclose()
            raise TranscriptionServiceUnavailable() from exc
        self._connection.on(EventType.MESSAGE, self._message)
        self._connection.on(EventType.ERROR, self._error)
        self._listener = asyncio.create_task(self._connection.start_listening())
        self._last_sent = time.monotonic()
        self._keepalive = asyncio.create_task(self._keep_alive())

    async def send(self, frame: bytes) -> None:
        self._last_sent = time.monotonic()
        try:
            await self._connection.send_media(frame)
        except Exception as exc:  # the connection to Deepgram is gone
            await self._fail(f"sending audio failed ({exc.__class__.__name__})")
            raise TranscriptionServiceUnavailable() from exc

    async def close(self, *, timeout: float) -> float | None:
        """Ask Deepgram to finish (its last finals still reach `on_result`), wait up to
        `timeout` for it, and return `processed_seconds`."""
        self._closing = True
        if not self._failed:
            with contextlib.suppress(Exception):
                await self._connection.send_close_stream()
            if self._listener is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self._listener), timeout)
        await self.abort()
        return self.processed_seconds

    async def abort(self) -> None:
        self._closing = True
        for task in (self._keepalive, self._listener):
            if task is not None and not task.done():
                task.cancel()
        with contextlib.suppress(Exception):
            await self._stack.aclose()

    async def _keep_alive(self) -> None:
        while not self._closing:
            idle = time.monotonic() - self._last_sent
            if idle < self.KEEPALIVE_SECONDS:
                await asyncio.sleep(self.KEEPALIVE_SECONDS - idle)
                continue
            self._last_sent = time.monotonic()
            try:
                await self._connection.send_keep_alive()
            except Exception:  # the listener reports the broken connection
                return

    async def _message(self, message: Any) -> None:
        if isinstance(message, ListenV1Results):
            self._results_end = max(self._results_end, float(message.start or 0) + float(message.duration or 0))
            alternatives = message.channel.alternatives or []
            text = (alternatives[0].transcript or "").strip() if alternatives else ""
            if text:
                confidence = min(max(float(alternatives[0].confidence or 0.0), 0.0), 1.0)
                await self._on_result(LiveResult(text=text, is_final=bool(message.is_final), confidence=confidence))
        elif isinstance(message, ListenV1Metadata):
            self._metadata_duration = float(message.duration)
        elif isinstance(message, ListenV1Error):
            await self._fail(f"deepgram error {message.variant}: {message.description}")

    async def _error(self, exc: Any) -> None:
        # The socket broke (an abnormal close, a dropped connection); a normal close ends the listener quietly.
        await self._fail(f"connection lost ({exc.__class__.__name__})")

    async def _fail(self, reason: str) -> None:
        if self._failed:
            return
        self._failed = True
        if self._closing:
            return
        logger.warning("deepgram live session failed: %s", reason)
        outcome = self._on_failure(reason)
        if asyncio.iscoroutine(outcome):
            await outcome
