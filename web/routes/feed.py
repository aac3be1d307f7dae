"""The status feed, GET /api/v3/ws: a snapshot (or a replay after ?since=), then every bus event.

A ``since`` that is not a non-negative integer is refused with 400 before the upgrade.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import orjson
import structlog
from aiohttp import WSCloseCode, WSMsgType, web

from actors.errors import ErrorCode, PlugvisorError
from actors.queue.messages import ListOperations
from actors.state.messages import GetAllStates
from actors.system import System
from supervision import SupervisionError
from web import keys
from web.feed_hub import FeedHub
from web.feed_session import FeedOptions, FeedSession, SnapshotSource
from web.health_summary import health_summary
from web.spec import requests as spec

log = structlog.get_logger(__name__)

FEED_OPTIONS = web.AppKey("feed_options", FeedOptions)
FEED_SESSIONS = web.AppKey("feed_sessions", set[FeedSession])
FEED_HUB = web.AppKey("feed_hub", FeedHub)  # one serialisation and one writer for all sockets


def snapshot_source(system: System) -> SnapshotSource:
    """What a snapshot is made of: every plugin's state, the active operations, health."""
    timeout = system.settings.timeouts.read

    async def source() -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
        plugins, operations, health = await asyncio.gather(
            system.state.ask(GetAllStates(), timeout=timeout),
            system.queue.ask(ListOperations(), timeout=timeout),
            health_summary(system),  # the one call to swap for the health actor's answer
        )
        return plugins, operations, health

    return source


def _error(message: str, code: ErrorCode = ErrorCode.INVALID_INPUT) -> dict[str, Any]:
    return {"type": "error", "error_code": code.value, "message": message}


def _answer(msg: Any) -> dict[str, Any]:
    """The reply to one client frame: a pong, or an error that leaves the socket open."""
    if msg.type is not WSMsgType.TEXT:
        return _error("Only text frames holding JSON are understood")
    try:
        body = orjson.loads(msg.data)
    except orjson.JSONDecodeError:
        return _error("The message is not valid JSON")
    if isinstance(body, dict) and body.get("type") == "ping":
        return {"type": "pong"}
    return _error('Unknown message; the only one understood is {"type": "ping"}')


async def feed(request: web.Request) -> web.WebSocketResponse:
    system = request.app[keys.SYSTEM]
    options = request.app[FEED_OPTIONS]
    since = spec.FEED_SINCE.read(request)
    ws = web.WebSocketResponse(
        heartbeat=options.heartbeat_s,
        max_msg_size=options.max_client_message,
        writer_limit=options.writer_limit,
        timeout=options.close_timeout_s,
        # Frames are small and go to many sockets: deflating each one per subscriber (its own
        # compression context) would cost far more CPU than the bytes it saves on a LAN.
        compress=False,
    )
    if not ws.can_prepare(request).ok:
        raise PlugvisorError(ErrorCode.INVALID_INPUT, "This endpoint needs a WebSocket upgrade")
    session = FeedSession(
        ws, system.bus, snapshot_source(system), options, request.transport, request.app[FEED_HUB]
    )
    session.start()  # subscribe before anything is read: no event can fall in between
    sessions = request.app[FEED_SESSIONS]
    writer: asyncio.Task[None] | None = None
    try:
        await ws.prepare(request)
        _bound_send_buffer(request, options.socket_send_buffer)
        sessions.add(session)
        writer = asyncio.create_task(_write(session, since), name="feed-writer")
        async for msg in ws:
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                session.reply(_answer(msg))
    finally:
        sessions.discard(session)
        session.stop()
        if writer is not None:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
    return ws


def _bound_send_buffer(request: web.Request, size: int) -> None:
    sock = request.transport.get_extra_info("socket") if request.transport else None
    if sock is not None and size > 0:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
        except OSError as exc:  # not a socket that has one (a test transport): keep the default
            log.info("feed_send_buffer_unchanged", error=str(exc))


async def _write(session: FeedSession, since: int | None) -> None:
    try:
        await session.run(since)
    except ConnectionError:
        pass  # the client went away; the reader ends the session
    except (SupervisionError, TimeoutError) as exc:
        log.warning("feed_snapshot_unavailable", error=type(exc).__name__)
        session.reply(_error("The status is not available now", ErrorCode.SERVICE_UNAVAILABLE))
        await session.flush_replies()
        await session.close(WSCloseCode.TRY_AGAIN_LATER, b"status unavailable")


async def _close_all(app: web.Application) -> None:
    """On shutdown every subscriber gets 1001, bounded by the close timeout."""
    sessions = list(app[FEED_SESSIONS])
    await asyncio.gather(
        *(s.close(WSCloseCode.GOING_AWAY, b"server shutdown") for s in sessions),
        return_exceptions=True,
    )
    await app[FEED_HUB].stop()


def setup(app: web.Application, options: FeedOptions | None = None) -> None:
    app[FEED_OPTIONS] = options or FeedOptions()
    app[FEED_SESSIONS] = set()
    app[FEED_HUB] = FeedHub()
    app.router.add_get("/api/v3/ws", feed)
    app.on_shutdown.append(_close_all)
