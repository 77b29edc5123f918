"""The ASGI application the server runs: Django requests through one thread hop."""

import asyncio
import json
import logging
import threading
import uuid

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.signals import request_finished, request_started
from django.http import StreamingHttpResponse
from django.urls import path

from perpetua.asgi import application
from perpetua.tests import asgi_urls

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def _stream_view(request):
    return StreamingHttpResponse((f"data: {n}\n\n" for n in range(3)), content_type="text/event-stream")


urlpatterns = [path("stream", _stream_view)]


def _scope(path, method="GET", headers=(), query=""):
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }


async def _call(scope, *bodies):
    app = ApplicationCommunicator(application, scope)
    for index, body in enumerate(bodies or [b""]):
        await app.send_input({"type": "http.request", "body": body, "more_body": index < len(bodies) - 1})
    start = await app.receive_output(5)
    chunks = []
    while True:
        message = await app.receive_output(5)
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    await app.wait(1)
    return start, chunks


async def test_http_request_runs_django_with_middleware_and_sends_one_body_message():
    start, chunks = await _call(_scope("/api/v1/health/live", headers=[(b"x-request-id", b"abc-123")]))
    assert start["status"] == 200
    headers = dict(start["headers"])
    assert headers[b"x-request-id"] == b"abc-123"
    assert len(chunks) == 1 and json.loads(chunks[0]) == {"status": "ok"}


async def test_unknown_api_path_gets_the_contract_error_shape():
    start, chunks = await _call(_scope("/api/v1/does-not-exist"))
    assert start["status"] == 404
    assert json.loads(b"".join(chunks))["error"]["code"] == "NOT_FOUND"


async def test_body_over_the_limit_is_refused_while_reading_even_without_content_length(settings):
    from perpetua import asgi

    app = asgi.application.application_mapping["http"]
    original, app.max_body = app.max_body, 1000
    settings.MAX_REQUEST_BODY_BYTES = 1000
    try:
        headers = [
            (b"content-type", b"application/json"),
            (b"x-request-id", b"big-1"),
            (b"origin", settings.CORS_ALLOWED_ORIGINS[0].encode()),
        ]
        start, chunks = await _call(_scope("/api/v1/tasks", method="POST", headers=headers), b"x" * 600, b"x" * 600)
    finally:
        app.max_body = original
    assert start["status"] == 413
    body = json.loads(b"".join(chunks))
    assert body["error"]["code"] == "PAYLOAD_TOO_LARGE"
    response_headers = dict(start["headers"])
    assert body["error"]["request_id"] == response_headers[b"x-request-id"].decode() == "big-1"
    assert response_headers[b"access-control-allow-origin"] == settings.CORS_ALLOWED_ORIGINS[0].encode()


@pytest.mark.urls("perpetua.tests.test_asgi_http")
async def test_streaming_response_is_relayed_chunk_by_chunk():
    start, chunks = await _call(_scope("/stream"))
    assert start["status"] == 200
    assert [c for c in chunks if c] == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n"]


# --- the sound HTTP path (issue 7 item 4): ASGI-level, a real Django app behind the bridge ---------


async def _start(scope, body=b""):
    app = ApplicationCommunicator(application, scope)
    await app.send_input({"type": "http.request", "body": body, "more_body": False})
    return app, await app.receive_output(5)


async def _closed(key, seconds):
    for _ in range(int(seconds / 0.02)):
        if asgi_urls.CLOSED[key].is_set():
            return True
        await asyncio.sleep(0.02)
    return False


@pytest.mark.urls("perpetua.tests.asgi_urls")
async def test_client_disconnect_mid_stream_stops_pulling_and_closes_the_iterator_within_a_second():
    key = uuid.uuid4().hex
    app, start = await _start(_scope("/stream/endless", query=f"key={key}"))
    assert start["status"] == 200
    assert (await app.receive_output(5))["body"] == b"data: tick\n\n"
    await app.send_input({"type": "http.disconnect"})
    assert await _closed(key, 1.0)
    pulls = asgi_urls.PULLS[key]
    await asyncio.sleep(0.3)
    assert asgi_urls.PULLS[key] == pulls  # nothing pulled after close()
    await app.wait(1)


@pytest.mark.urls("perpetua.tests.asgi_urls")
async def test_a_streaming_request_runs_signals_view_iteration_and_close_on_one_thread():
    key = uuid.uuid4().hex
    seen = []

    def started(**kwargs):
        seen.append(("started", threading.get_ident()))

    def finished(**kwargs):
        seen.append(("finished", threading.get_ident()))

    request_started.connect(started)
    request_finished.connect(finished)
    try:
        start, chunks = await _call(_scope("/stream/counted", query=f"key={key}"))
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)
    assert start["status"] == 200
    assert [c for c in chunks if c] == [b"data: tick\n\n"] * 3
    assert [name for name, _ in seen] == ["started", "finished"]
    # view, 3 pulls, close(), and the two signals: one thread
    threads = {*asgi_urls.THREADS[key], *(ident for _, ident in seen)}
    assert len(asgi_urls.THREADS[key]) == 5 and len(threads) == 1
    assert threads != {threading.get_ident()}  # not the event loop's


@pytest.mark.urls("perpetua.tests.asgi_urls")
async def test_an_exception_escaping_django_is_a_contract_500_logged_with_the_request_id(caplog):
    def explode(**kwargs):
        raise RuntimeError("request_started receiver failed")

    request_started.connect(explode)
    try:
        with caplog.at_level(logging.ERROR, logger="perpetua.http"):
            given = await _call(_scope("/api/v1/health/live", headers=[(b"x-request-id", b"crash-1")]))
            generated = await _call(_scope("/api/v1/health/live"))
    finally:
        request_started.disconnect(explode)
    for (start, chunks), expected in ((given, "crash-1"), (generated, None)):
        assert start["status"] == 500
        body = json.loads(b"".join(chunks))
        assert body["error"]["code"] == "INTERNAL_ERROR"
        assert "request_started" not in json.dumps(body)
        request_id = body["error"]["request_id"]
        assert request_id == dict(start["headers"])[b"x-request-id"].decode()
        assert request_id == (expected or request_id) and request_id
        logged = [r for r in caplog.records if r.name == "perpetua.http" and r.request_id == request_id]
        assert logged and logged[0].exc_info[0] is RuntimeError


@pytest.mark.urls("perpetua.tests.asgi_urls")
async def test_repeated_headers_are_joined_as_django_does_and_underscored_names_dropped():
    headers = [
        (b"cookie", b"a=1"),
        (b"cookie", b"b=2; c=3"),
        (b"x-forwarded-for", b"203.0.113.1"),
        (b"x-forwarded-for", b"198.51.100.2"),
        (b"x_forwarded_for", b"6.6.6.6"),  # would pass for X-Forwarded-For
    ]
    start, chunks = await _call(_scope("/headers", headers=headers))
    assert start["status"] == 200
    body = json.loads(b"".join(chunks))
    assert body["cookies"] == {"a": "1", "b": "2", "c": "3"}
    assert body["forwarded_for"] == "203.0.113.1,198.51.100.2"


async def test_a_declared_content_length_over_the_limit_is_refused_before_reading_the_body(settings):
    headers = [(b"content-type", b"application/json"), (b"content-length", b"400000000"), (b"x-request-id", b"big-2")]
    app = ApplicationCommunicator(application, _scope("/api/v1/tasks", method="POST", headers=headers))
    start = await app.receive_output(5)  # no body sent at all: answered from the headers alone
    assert start["status"] == 413
    assert (b"connection", b"close") in start["headers"]
    body = json.loads((await app.receive_output(5))["body"])
    assert body["error"] == {"code": "PAYLOAD_TOO_LARGE", "message": body["error"]["message"], "request_id": "big-2"}
    await app.wait(1)
