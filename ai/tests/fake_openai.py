"""A fake OpenAI-compatible server on 127.0.0.1: `POST /v1/chat/completions`, plain and
streamed (server-sent events, chunked), with tool calls and JSON (structured) output.

Tests script its answers one request at a time (`fake.script(...)`), read what it
received (`fake.requests`), and make it fail: `500`, `malformed` (a 200 that is no chat
completion), `hang` (answers nothing until the client goes), `break` (a stream cut
mid-way by a reset), `delay` seconds before answering and `hold` (no answer until the test
sets `fake.release`).
"""

from __future__ import annotations

import json
import select
import socket
import struct
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the listen backlog: tests open dozens of connections at once


class Turn(dict):
    """One scripted answer: text=, tool_calls=[(name, args)], json=obj, mode=, delay=, hold=, chunks=,
    chunk_delay=, gated=."""


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.turns: deque[Turn] = deque()
        self.default = Turn(text="Here is a thought about your tasks.")
        self.lock = threading.Lock()
        self.client_gone = threading.Event()  # a `hang` or stream answer saw its client close
        self.disconnects = 0  # how many times that happened
        self.release = threading.Event()  # ends the wait of `hold` answers
        self.next_chunk = threading.Semaphore(0)  # a `gated` stream waits for one after each text chunk
        self.in_flight = 0
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def start(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def script(self, *turns: dict[str, Any]) -> None:
        with self.lock:
            self.turns.extend(Turn(t) for t in turns)

    def _gone(self) -> None:
        with self.lock:
            self.disconnects += 1
        self.client_gone.set()

    def _next(self) -> Turn:
        with self.lock:
            return self.turns.popleft() if self.turns else self.default

    # --- the wire protocol -----------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with fake.lock:
                    fake.requests.append(body)
                    fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                    fake.in_flight += 1
                try:
                    self._answer(body, fake._next())
                finally:
                    with fake.lock:
                        fake.in_flight -= 1

            def _answer(self, body: dict[str, Any], turn: Turn) -> None:
                if turn.get("delay"):
                    time.sleep(turn["delay"])
                if turn.get("hold"):
                    fake.release.wait(30)
                mode = turn.get("mode")
                if mode == "500":
                    return self._json(500, {"error": {"message": "boom", "type": "server_error"}})
                if mode == "malformed":
                    return self._json(200, {"unexpected": "shape"})
                if mode == "hang":
                    return self._wait_for_close(30)
                schema = (body.get("response_format") or {}).get("json_schema", {}).get("schema")
                if schema and "json" not in turn:  # unscripted structured output: a valid example
                    turn = Turn({**turn, "json": _example(schema, schema.get("$defs", {}))})
                if body.get("stream"):
                    return self._stream(turn)
                return self._json(200, _completion(turn))

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _wait_for_close(self, seconds: float) -> bool:
                """True when the client closed its connection within `seconds`."""
                ready, _, _ = select.select([self.connection], [], [], seconds)
                if ready:
                    try:
                        gone = self.connection.recv(1, socket.MSG_PEEK) == b""
                    except OSError:
                        gone = True
                    if gone:
                        fake._gone()
                        self.close_connection = True
                        return True
                return False

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _stream(self, turn: Turn) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for i, chunk in enumerate(_stream_chunks(turn)):
                        if turn.get("mode") == "break" and i == 2:
                            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                            self.connection.close()  # a reset, mid-stream
                            self.close_connection = True
                            return
                        if turn.get("mode") == "stall" and i == 2:
                            self._wait_for_close(30)
                            return
                        self._chunk(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                        if turn.get("chunk_delay"):
                            if self._wait_for_close(turn["chunk_delay"]):
                                return
                        gated = turn.get("gated") and chunk["choices"][0]["delta"].get("content")
                        if gated and not fake.next_chunk.acquire(timeout=30):
                            return
                    self._chunk(b"data: [DONE]\n\n")
                    self._chunk(b"")
                except (BrokenPipeError, ConnectionResetError):
                    fake._gone()
                    self.close_connection = True

        return Handler


def _example(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    """A value that satisfies a (strict, pydantic-made) JSON schema."""
    if "$ref" in schema:
        return _example(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in schema:
        return _example(schema["anyOf"][0], defs)
    if "enum" in schema:
        return schema["enum"][-1]
    kind = schema.get("type")
    if kind == "object":
        return {name: _example(sub, defs) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [_example(schema["items"], defs) for _ in range(2)]
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return "Example " + str(schema.get("title", "text")).lower()


def _tool_calls(turn: Turn) -> list[dict[str, Any]]:
    return [
        {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
        for i, (name, args) in enumerate(turn.get("tool_calls", []))
    ]


def _content(turn: Turn) -> str | None:
    if "json" in turn:
        return turn["json"] if isinstance(turn["json"], str) else json.dumps(turn["json"])
    return turn.get("text") if not turn.get("tool_calls") else None


def _completion(turn: Turn) -> dict[str, Any]:
    calls = _tool_calls(turn)
    message: dict[str, Any] = {"role": "assistant", "content": _content(turn)}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "fake-model",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def _stream_chunks(turn: Turn) -> list[dict[str, Any]]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": "fake-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    chunks = [chunk({"role": "assistant", "content": ""})]
    calls = _tool_calls(turn)
    if calls:
        for i, call in enumerate(calls):
            chunks.append(chunk({"tool_calls": [{"index": i, **call}]}))
        chunks.append(chunk({}, "tool_calls"))
        return chunks
    content = _content(turn) or ""
    pieces = turn.get("chunks") or [content[i : i + 8] for i in range(0, len(content), 8)]
    chunks.extend(chunk({"content": piece}) for piece in pieces)
    chunks.append(chunk({}, "stop"))
    return chunks


if __name__ == "__main__":  # a stand-in provider for manual runs: python -m ai.tests.fake_openai
    server = FakeOpenAI().start()
    print(server.base_url, flush=True)
    server.thread.join()
