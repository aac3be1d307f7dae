"""The listening sockets and their accept loop: stop accepting at the hard cap, back off (and
log a little) when the process is out of descriptors, never spin."""

from __future__ import annotations

import asyncio
import errno
import socket

import structlog
from aiohttp import web

from web.server import GuardedServer

log = structlog.get_logger(__name__)

FIRST_BACKOFF_S = 0.02


class ListenSite(web.BaseSite):
    """An aiohttp site on ``host:port`` that accepts connections itself.

    asyncio's own accept loop (Python 3.11) keeps calling ``accept()`` after EMFILE and logs a
    traceback each time; this one waits for a connection to close when the server is at its
    hard cap, and sleeps with exponential backoff after any accept error.
    """

    __slots__ = ("_host", "_port", "_sockets", "_tasks")

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *, backlog: int = 128) -> None:
        super().__init__(runner, backlog=backlog)
        self._host = host
        self._port = port
        self._sockets: list[socket.socket] = []
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def port(self) -> int:
        return self._sockets[0].getsockname()[1] if self._sockets else self._port

    @property
    def name(self) -> str:
        host = self._host or "0.0.0.0"  # noqa: S104 - how aiohttp names "every address"
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert isinstance(server, GuardedServer), "ListenSite serves a PlugvisorRunner"
        self._sockets = await listen_sockets(self._host, self._port, self._backlog)
        self._tasks = [
            asyncio.create_task(accept_loop(sock, server), name=f"accept {sock.getsockname()}")
            for sock in self._sockets
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for sock in self._sockets:
            sock.close()
        self._tasks = []
        await super().stop()


async def listen_sockets(host: str, port: int, backlog: int) -> list[socket.socket]:
    """A non-blocking listening socket for every address ``host`` resolves to."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _name, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(backlog)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


async def accept_loop(sock: socket.socket, server: GuardedServer) -> None:
    """Accept connections for ``server`` until cancelled."""
    loop = asyncio.get_running_loop()
    limits = server.limits
    failures = 0
    while True:
        if server.open_connections >= limits.hard_cap:
            log.warning("accept_paused", open_connections=limits.hard_cap)
            await server.wait_for_room()
        try:
            conn, _address = await loop.sock_accept(sock)
        except OSError as exc:
            failures += 1
            log.warning(
                "accept_failed",
                errno=errno.errorcode.get(exc.errno or 0, str(exc.errno)),
                error=exc.strerror,
            )
            backoff = FIRST_BACKOFF_S * 2 ** min(failures, 16)
            await asyncio.sleep(min(limits.accept_backoff_max_s, backoff))
            continue
        if failures:
            log.info("accept_recovered", failed_attempts=failures)
            failures = 0
        try:
            await loop.connect_accepted_socket(server, conn)
        except Exception as exc:  # the peer left between accept and setup, or worse
            conn.close()
            log.info("connection_setup_failed", error=type(exc).__name__)
