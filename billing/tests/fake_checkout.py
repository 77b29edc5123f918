"""A small fake of Checkout.com's API on 127.0.0.1, speaking its wire protocol: `POST
/hosted-payments` (→ `id: hpp_...`, `_links.redirect.href`) and `POST /payments` (a
merchant-initiated payment → `id: pay_...`, `status`, `approved`, honouring
`Cko-Idempotency-Key`). It records every request it received so tests can assert on them.

Modes: `ok`; `500` (every call answers 500 with Checkout.com's error body); `hang` (the
answer comes only after `hang_seconds`, longer than the client's timeout).

Also runnable by hand for the SPA check: `python -m billing.tests.fake_checkout --port 8999`.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeCheckout:
    mode: str = "ok"
    hang_seconds: float = 3.0
    payment_status: str = "Authorized"
    requests: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _idempotent: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def received(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    def start(self, port: int = 0) -> FakeCheckout:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                with fake._lock:
                    fake.requests.append(
                        Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                if fake.mode == "hang":
                    fake._stop.wait(fake.hang_seconds)
                if fake.mode == "500":
                    return self._send(500, {"request_id": "req_fake", "error_type": "internal_error"})
                if self.headers.get("Authorization", "") in ("", "Bearer "):
                    return self._send(401, {})
                if self.path == "/hosted-payments":
                    return self._send(201, fake.hosted_payment(body))
                if self.path == "/payments":
                    key = self.headers.get("Cko-Idempotency-Key")
                    with fake._lock:
                        answer = fake._idempotent.get(key) if key else None
                        if answer is None:
                            answer = fake.payment(body)
                            if key:
                                fake._idempotent[key] = answer
                    return self._send(202 if answer["status"] == "Pending" else 201, answer)
                return self._send(404, {"error_type": "not_found"})

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout)

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def hosted_payment(self, body: dict[str, Any]) -> dict[str, Any]:
        session_id = f"hpp_{secrets.token_hex(13)}"
        return {
            "id": session_id,
            "reference": body.get("reference"),
            "_links": {
                "self": {"href": f"{self.url}/hosted-payments/{session_id}"},
                "redirect": {"href": f"https://pay.sandbox.checkout.com/page/{session_id}"},
            },
        }

    def payment(self, body: dict[str, Any]) -> dict[str, Any]:
        status = self.payment_status
        return {
            "id": f"pay_{secrets.token_hex(13)}",
            "action_id": f"act_{secrets.token_hex(13)}",
            "amount": body.get("amount"),
            "currency": body.get("currency"),
            "approved": status in ("Authorized", "Captured"),
            "status": status,
            "response_code": "10000" if status != "Declined" else "20005",
            "reference": body.get("reference"),
            "source": {"id": (body.get("source") or {}).get("id"), "type": "card", "last4": "4242"},
            "_links": {"self": {"href": f"{self.url}/payments/pay"}},
        }


def event(
    event_type: str,
    *,
    reference: str,
    payment_id: str,
    amount: int = 999,
    created_on: str = "2026-01-01T00:00:00Z",
    source_id: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A webhook event as Checkout.com delivers it."""
    data: dict[str, Any] = {
        "id": payment_id,
        "action_id": f"act_{secrets.token_hex(13)}",
        "reference": reference,
        "amount": amount,
        "currency": "USD",
        "processed_on": created_on,
        "response_code": "10000" if event_type != "payment_declined" else "20005",
        "metadata": {},
    }
    if source_id:
        data["source"] = {"id": source_id, "type": "card", "last4": "4242"}
    return {
        "id": event_id or f"evt_{secrets.token_hex(13)}",
        "type": event_type,
        "version": "1.0.0",
        "created_on": created_on,
        "data": data,
        "_links": {"self": {"href": "https://api.sandbox.checkout.com/events/evt"}},
    }


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


if __name__ == "__main__":  # pragma: no cover - a manual tool
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8999)
    args = parser.parse_args()
    fake = FakeCheckout().start(port=args.port)
    print(f"fake Checkout.com on {fake.url}", flush=True)
    threading.Event().wait()
