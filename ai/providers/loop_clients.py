"""One async client per event loop, shared by the provider modules.

An async HTTP client's connection pool belongs to the loop it was first used on, and
building one (TLS certificates, SDK set-up) costs tens of milliseconds on the loop: so each
loop keeps its own, made again only when the settings it was built from change.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Client = TypeVar("Client")


class PerLoop(Generic[Client]):
    def __init__(self, build: Callable[..., Client]) -> None:
        self._build = build
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[tuple[Hashable, ...], Client]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, *config: Hashable) -> Client:
        """The running loop's client built by `build(*config)`."""
        loop = asyncio.get_running_loop()
        cached = self._clients.get(loop)
        if cached is None or cached[0] != config:
            cached = self._clients[loop] = (config, self._build(*config))
        return cached[1]
