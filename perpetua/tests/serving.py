"""uvicorn with the production options, in a thread of the test process (same test database),
for the tests that talk to the real server over a socket."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from perpetua.server import options


def serve(app: Any) -> Iterator[int]:
    """Yield the port of a started server for `app`; stop it afterwards (use with `yield from`)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    instance = uvicorn.Server(uvicorn.Config(**{**options(app=app), "timeout_graceful_shutdown": 1}))
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(250):
        if instance.started:
            break
        time.sleep(0.02)
    yield sock.getsockname()[1]
    instance.should_exit = True
    thread.join(10)
    sock.close()
