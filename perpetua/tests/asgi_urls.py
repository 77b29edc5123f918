"""Test-only URLconf for the HTTP path (bridge and server): streams, header echo, a DB request.

Use with `@pytest.mark.urls("perpetua.tests.asgi_urls")`. Every stream records, per `key`
query parameter, how often it was pulled, on which threads, and when it was closed.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from django.contrib.auth.models import Group
from django.http import JsonResponse, StreamingHttpResponse
from django.urls import include, path

from perpetua.tests import urls as api_urls

CLOSED: defaultdict[str, threading.Event] = defaultdict(threading.Event)
PULLS: defaultdict[str, int] = defaultdict(int)
THREADS: defaultdict[str, list[int]] = defaultdict(list)


class Ticker:
    """An endless event stream, like a provider's: it must be closed when the client leaves."""

    def __init__(self, key: str, interval: float) -> None:
        self.key = key
        self.interval = interval

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        PULLS[self.key] += 1
        THREADS[self.key].append(threading.get_ident())
        if PULLS[self.key] > 1:
            time.sleep(self.interval)
        return b"data: tick\n\n"

    def close(self) -> None:
        THREADS[self.key].append(threading.get_ident())
        CLOSED[self.key].set()


class Counted(Ticker):
    """Three events, then the end."""

    def __next__(self) -> bytes:
        if PULLS[self.key] >= 3:
            raise StopIteration
        return super().__next__()


def endless_view(request):
    key = request.GET["key"]
    THREADS[key].append(threading.get_ident())
    ticker = Ticker(key, float(request.GET.get("interval", "0.05")))
    return StreamingHttpResponse(ticker, content_type="text/event-stream")


def counted_view(request):
    key = request.GET["key"]
    THREADS[key].append(threading.get_ident())
    return StreamingHttpResponse(Counted(key, 0.01), content_type="text/event-stream")


def headers_view(request):
    return JsonResponse(
        {
            "cookies": request.COOKIES,
            "forwarded_for": request.META.get("HTTP_X_FORWARDED_FOR"),
            "thread": threading.get_ident(),
        }
    )


def db_view(request):
    return JsonResponse({"groups": Group.objects.count()})


urlpatterns = [
    path("stream/endless", endless_view),
    path("stream/counted", counted_view),
    path("headers", headers_view),
    path("db", db_view),
    path("", include(api_urls)),
]
from perpetua.urls import handler400, handler403, handler404, handler500  # noqa: E402, F401  (as in production)
