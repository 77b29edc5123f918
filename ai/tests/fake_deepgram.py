"""A fake Deepgram on 127.0.0.1 speaking its real wire protocols, for the real deepgram-sdk.

One aiohttp server, on its own thread and event loop (so sync HTTP tests and async
WebSocket tests can both use it), answers:

* `GET /v1/listen` upgraded to a WebSocket (the live API): each binary frame is
  "audio" of `seconds_per_frame`; for frame i it sends an interim then a final Results
  message whose text is `transcripts[i]` (nothing when the list is shorter). Text
  messages are controls; CloseStream → a Metadata message with the duration received,
  then a normal close. `fail_after_frames=n` closes with 1011 after the n-th frame, as
  Deepgram does on an internal error. `reject_status` refuses the handshake;
  `connect_delay` seconds pass before it is answered (a hang at connect).
* `POST /v1/listen` (the pre-recorded API, `{"url"}`): a ListenV1Response, or
  `http_status` (e.g. 500), after `http_delay` seconds (a hang when longer than the
  client's timeout).

`in_flight` counts the requests (of either API) waiting out a delay; a client that goes
away meanwhile is counted in `disconnects`; setting `release` ends every delay at once.

Everything it received is recorded for the tests to assert on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web


@dataclass
class LiveSession:
    query: dict[str, str]
    headers: dict[str, str]
    frames: list[bytes] = field(default_factory=list)
    controls: list[dict[str, Any]] = field(default_factory=list)
    closed_by_client: bool = False


@dataclass
class FakeDeepgram:
    port: int = 0
    # live behaviour
    transcripts: list[str] = field(default_factory=list)
    seconds_per_frame: float = 1.0
    fail_after_frames: int | None = None
    reject_status: int | None = None
    connect_delay: float = 0.0
    # pre-recorded behaviour
    http_status: int = 200
    http_delay: float = 0.0
    http_transcript: str = "buy milk and call the plumber"
    http_confidence: float = 0.93
    http_language: str = "en"
    http_duration: float = 42.0
    # delays (either API)
    in_flight: int = 0
    disconnects: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    # what arrived
    sessions: list[LiveSession] = field(default_factory=list)
    http_requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    # --- live ----------------------------------------------------------------------------

    def _results(self, *, index: int, text: str, is_final: bool) -> str:
        start = index * self.seconds_per_frame
        return json.dumps(
            {
                "type": "Results",
                "channel_index": [0, 1],
                "duration": self.seconds_per_frame,
                "start": start,
                "is_final": is_final,
                "speech_final": is_final,
                "channel": {
                    "alternatives": [
                        {"transcript": text, "confidence": 0.9 if is_final else 0.6, "words": []},
                    ]
                },
                "metadata": {
                    "request_id": str(uuid.uuid4()),
                    "model_info": {"name": "2-general-nova", "version": "2024-01-09.29447", "arch": "nova-2"},
                    "model_uuid": str(uuid.uuid4()),
                },
                "from_finalize": False,
            }
        )

    async def _listen(self, request: web.Request) -> web.StreamResponse:
        if request.method == "POST":
            return await self._prerecorded(request)
        if self.connect_delay and not await self._wait(request, self.connect_delay):
            return web.Response(status=499)
        if self.reject_status:
            return web.Response(status=self.reject_status, text="refused")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = LiveSession(query=dict(request.query), headers=dict(request.headers))
        self.sessions.append(session)
        async for message in ws:
            if message.type == WSMsgType.BINARY:
                index = len(session.frames)
                session.frames.append(message.data)
                if index < len(self.transcripts):
                    words = self.transcripts[index].split()
                    await ws.send_str(self._results(index=index, text=" ".join(words[:1]), is_final=False))
                    await ws.send_str(self._results(index=index, text=self.transcripts[index], is_final=True))
                if self.fail_after_frames is not None and len(session.frames) >= self.fail_after_frames:
                    await ws.close(code=1011, message=b"NET-0001")
                    break
            elif message.type == WSMsgType.TEXT:
                control = json.loads(message.data)
                session.controls.append(control)
                if control.get("type") == "CloseStream":
                    await ws.send_str(
                        json.dumps(
                            {
                                "type": "Metadata",
                                "transaction_key": "deprecated",
                                "request_id": str(uuid.uuid4()),
                                "sha256": "0" * 64,
                                "created": "2026-01-19T10:30:00.000Z",
                                "duration": len(session.frames) * self.seconds_per_frame,
                                "channels": 1,
                            }
                        )
                    )
                    await ws.close()
                    break
        session.closed_by_client = ws.close_code is not None
        return ws

    # --- pre-recorded ----------------------------------------------------------------------

    async def _prerecorded(self, request: web.Request) -> web.Response:
        self.http_requests.append(
            {"query": dict(request.query), "headers": dict(request.headers), "body": await request.json()}
        )
        if self.http_delay and not await self._wait(request, self.http_delay):
            return web.Response(status=499)  # nobody is listening any more
        if self.http_status != 200:
            return web.json_response({"err_code": "INTERNAL", "err_msg": "boom"}, status=self.http_status)
        return web.json_response(
            {
                "metadata": {
                    "transaction_key": "deprecated",
                    "request_id": str(uuid.uuid4()),
                    "sha256": "0" * 64,
                    "created": "2026-01-19T10:30:00.000Z",
                    "duration": self.http_duration,
                    "channels": 1,
                    "models": [str(uuid.uuid4())],
                    "model_info": {},
                },
                "results": {
                    "channels": [
                        {
                            "alternatives": [
                                {"transcript": self.http_transcript, "confidence": self.http_confidence, "words": []}
                            ],
                            "detected_language": self.http_language,
                        }
                    ]
                },
            }
        )

    async def _wait(self, request: web.Request, seconds: float) -> bool:
        """Sleep `seconds` (or until `release`); False as soon as the client closed the connection."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        self.in_flight += 1
        try:
            while loop.time() < deadline and not self.release.is_set():
                if request.transport is None or request.transport.is_closing():
                    self.disconnects += 1
                    return False
                await asyncio.sleep(0.02)
            return True
        finally:
            self.in_flight -= 1

    # --- running ---------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.new_event_loop()
        started = threading.Event()

        async def serve() -> None:
            app = web.Application()
            app.router.add_route("*", "/v1/listen", self._listen)
            self._runner = web.AppRunner(app, shutdown_timeout=0.5)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]
            started.set()

        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(serve(), self._loop)
        assert started.wait(5), "fake Deepgram did not start"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


@contextlib.contextmanager
def serve_fake_deepgram(settings: Any) -> Iterator[FakeDeepgram]:
    """A running fake, with the (pytest-django) settings pointing the server at it."""
    fake = FakeDeepgram()
    fake.start()
    settings.DEEPGRAM_BASE_URL = fake.ws_url
    settings.DEEPGRAM_API_KEY = "dg-test-key"
    try:
        yield fake
    finally:
        fake.stop()
