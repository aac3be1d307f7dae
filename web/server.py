"""The HTTP server around the app: aiohttp's Server and AppRunner, handing every connection to
GuardedRequestHandler and counting connections against the limits."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from web.connection_limits import ConnectionLimits
from web.protocol import GuardedRequestHandler


class GuardedServer(web.Server):
    """aiohttp's low-level server (the protocol factory) with connection accounting."""

    def __init__(self, handler: Any, *, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.limits = limits
        self.served = 0  # connections within max_connections
        self.overflow = 0  # connections past it, each answered once and closed
        self._room = asyncio.Event()
        self._room.set()

    def __call__(self) -> GuardedRequestHandler:
        return GuardedRequestHandler(self, loop=self._loop, limits=self.limits, **self._kwargs)

    @property
    def open_connections(self) -> int:
        return self.served + self.overflow

    def admit(self) -> bool:
        """Count a new connection; False when it is past ``max_connections``."""
        if self.served < self.limits.max_connections:
            self.served += 1
            return True
        self.overflow += 1
        return False

    def release(self, *, overflow: bool) -> None:
        if overflow:
            self.overflow -= 1
        else:
            self.served -= 1
        self._room.set()

    async def wait_for_room(self) -> None:
        """Return once fewer than ``hard_cap`` connections are open."""
        while self.open_connections >= self.limits.hard_cap:
            self._room.clear()
            await self._room.wait()


class PlugvisorRunner(web.AppRunner):
    """An AppRunner whose server is a GuardedServer; keep-alive idles end after the limit's
    ``keepalive_timeout_s``. Serve it with web.listener.ListenSite (or any aiohttp site)."""

    __slots__ = ("limits",)

    def __init__(self, app: web.Application, limits: ConnectionLimits, **kwargs: Any) -> None:
        kwargs.setdefault("keepalive_timeout", limits.keepalive_timeout_s)
        super().__init__(app, **kwargs)
        self.limits = limits

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()
        # The same request handler, request factory and options aiohttp chose for the app;
        # only the connection class differs.
        return GuardedServer(
            plain.request_handler,
            limits=self.limits,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=asyncio.get_running_loop(),
            **plain._kwargs,
        )
