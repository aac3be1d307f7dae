"""One subscriber of the status feed: a bounded event queue fed by the bus, one writer task,
snapshots that are exact at their sequence number, and the slow-consumer policy."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from aiohttp import WSCloseCode, WSMsgType, web

from actors.events import Event, EventBus
from web.feed_hub import FeedHub

log = structlog.get_logger(__name__)

ACTIVE = frozenset({"pending", "running"})
# plugins, active operations, health
Snapshot = tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]
SnapshotSource = Callable[[], Awaitable[Snapshot]]


@dataclass(frozen=True, slots=True)
class FeedOptions:
    queue_size: int = 256  # events waiting for one subscriber before it is resynchronised
    send_timeout_s: float = 5.0  # one frame not written by then: the client is stalled (1013)
    resync_limit: int = 3  # resnapshots within resync_window_s before a close with 1013
    resync_window_s: float = 10.0
    snapshot_attempts: int = 3  # overflows while a snapshot is being built, then 1013
    control_limit: int = 32  # pongs and errors waiting to be written
    max_client_message: int = 4096  # bytes; a client only ever sends small control messages
    heartbeat_s: float = 20.0
    close_timeout_s: float = 2.0  # for the client's close reply (shutdown, 1013)
    writer_limit: int = 64 * 1024  # bytes buffered by aiohttp per socket before it waits
    # The kernel's send buffer per socket (SO_SNDBUF; Linux doubles it). Left to autotuning,
    # loopback and LAN sockets grow to megabytes: seconds of events queued out of the feed's
    # sight, where a slow client can neither be seen nor resynchronised.
    socket_send_buffer: int = 64 * 1024


class Stalled(Exception):
    """The client cannot keep up: the session ends with 1013."""


def fold(
    plugins: dict[str, Any],
    operations: list[dict[str, Any]],
    health: dict[str, Any],
    events: list[Event],
) -> Snapshot:
    """Apply ``events`` (in order) to a snapshot so that it reflects exactly their last seq.

    Every event carries the whole of what changed (a plugin's state, an operation's record,
    the health summary), so applying one the snapshot already reflects changes nothing.
    """
    plugins = dict(plugins)
    ops = {op["operation_id"]: op for op in operations}
    for event in events:
        data = event.data
        if event.topic == "plugin_state":
            if data.get("state") is None:
                plugins.pop(data["plugin_id"], None)
            else:
                plugins[data["plugin_id"]] = data["state"]
        elif event.topic == "operation":
            if data.get("status") in ACTIVE:
                ops[data["operation_id"]] = data
            else:
                ops.pop(data["operation_id"], None)
        elif event.topic == "health" and "status" in data and data.get("kind") != "plugin":
            # plugin health events are forwarded as events; the snapshot keeps the supervisor's
            health = {"status": data["status"], "reasons": data.get("reasons", [])}
    ordered = sorted(
        ops.values(),
        key=lambda op: (op["status"] != "running", op.get("position") is None, op.get("position")),
    )
    return dict(sorted(plugins.items())), ordered, health


class FeedSession:
    """Serves one WebSocket: call ``start`` (subscribes at once), then ``run`` until it ends."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        bus: EventBus,
        snapshot_source: SnapshotSource,
        options: FeedOptions,
        transport: asyncio.BaseTransport | None,
        hub: FeedHub,
    ) -> None:
        self.ws = ws
        self._hub = hub
        self._transport = transport
        self._bus = bus
        self._snapshot_source = snapshot_source
        self._options = options
        self._events: deque[Event] = deque()
        self._control: deque[dict[str, Any]] = deque()
        self._overflowed = False
        self._wake = asyncio.Event()
        self._unsubscribe: Callable[[], None] | None = None
        self._last_seq = 0
        self._live = False  # the start (replay or snapshot) is written: events may go direct
        self._busy = False  # the writer task is writing
        self._at_hub = 0  # events handed to the hub and not yet delivered
        self._snapshotting = False
        self._low_water: int | None = None  # the transport's: at or below it, never paused
        self._resyncs: deque[float] = deque()
        self.high_water = 0  # the most events ever waiting for this subscriber (tests, benchmarks)
        self.sent_directly = 0  # events the hub wrote, not this session's writer (tests)
        self.close_code: int | None = None

    # -- the bus side (must never block) -------------------------------------------------

    def start(self) -> None:
        """Subscribe to every topic before anything is read, so nothing can be missed."""
        self._unsubscribe = self._bus.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        if self._overflowed:
            return  # a snapshot will cover it
        # While a snapshot is built every event goes to this session's queue, to be folded
        # into it; what the hub still holds from before is already reflected in it.
        waiting = len(self._events) + (0 if self._snapshotting else self._at_hub)
        if waiting >= self._options.queue_size:
            self._fall_behind()
            return
        if waiting >= self.high_water:
            self.high_water = waiting + 1
        if not self._snapshotting and (
            self._at_hub or (self._live and not self._busy and not self._events)
        ):
            self._at_hub += 1  # in order behind what the hub already holds for this session
            self._hub.push(self, event)
            return
        self._queue(event)

    def _queue(self, event: Event) -> None:
        """For this session's own writer (counted within ``queue_size`` by ``_on_event``)."""
        self._events.append(event)
        self._wake.set()

    def take_direct(self, event: Event) -> bool:
        """The hub's turn for ``event``: true when this session is caught up and its socket
        takes the frame without waiting (the hub then writes it at once); otherwise the event
        is queued for this session's own writer, or dropped when a snapshot covers it."""
        self._at_hub -= 1
        if (
            self._unsubscribe is None
            or self._overflowed
            or self._snapshotting
            or event.seq <= self._last_seq
        ):
            return False  # stopped, being resynchronised, or covered by a snapshot
        if (
            self._live
            and not self._busy
            and not self._events
            and not self._control
            and event.seq == self._last_seq + 1
            and self._can_write_now()
        ):
            self._last_seq = event.seq
            self.sent_directly += 1
            return True
        self._queue(event)
        return False

    # -- the client side ---------------------------------------------------------------

    def reply(self, message: dict[str, Any]) -> None:
        """Queue a pong or an error; a client that never reads its replies is stalled."""
        if len(self._control) >= self._options.control_limit:
            self._fall_behind()  # treated like a full event queue: resync, then 1013
            return
        self._control.append(message)
        self._wake.set()

    def _fall_behind(self) -> None:
        """Too far behind: drop what waits and let the writer resynchronise with a snapshot."""
        self._events.clear()
        self._overflowed = True
        self._wake.set()

    async def run(self, since: int | None) -> None:
        """Write the start (replay or snapshot), then every event, until closed or stalled."""
        try:
            await self._begin(since)
            self._live = True
            while not self.ws.closed:
                await self._wake.wait()
                self._wake.clear()
                self._busy = True
                try:
                    await self._flush()
                finally:
                    self._busy = False
        except Stalled:
            await self.close(WSCloseCode.TRY_AGAIN_LATER, b"client too slow")
        finally:
            self.stop()

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._events.clear()
        self._control.clear()

    async def close(self, code: int, message: bytes) -> None:
        """Close with ``code``; a peer that does not take the close frame is cut off."""
        if self.close_code is None:
            self.close_code = code
        self.stop()
        try:
            async with asyncio.timeout(self._options.close_timeout_s):
                await self.ws.close(code=code, message=message)
        except (TimeoutError, ConnectionError):
            if self._transport is not None:
                self._transport.abort()

    async def flush_replies(self) -> None:
        """Write the queued pongs and errors now (before a close), as far as the client reads."""
        try:
            while self._control:
                await self._send(self._control.popleft())
        except (Stalled, ConnectionError):
            self._control.clear()

    # -- writing -----------------------------------------------------------------------

    async def _begin(self, since: int | None) -> None:
        # A since past the bus's seq comes from an earlier run of the server: snapshot.
        if since is not None and since <= self._bus.seq:
            replay = self._bus.since(since)
            if replay is not None:
                self._last_seq = since
                for event in replay:
                    await self._send_event(event)
                return
        await self._snapshot()

    async def _flush(self) -> None:
        while self._control:
            await self._send(self._control.popleft())
        if self._overflowed:
            self._note_resync()
            await self._snapshot()
        while self._events and not self._overflowed:
            event = self._events.popleft()
            if event.seq <= self._last_seq:
                continue  # already in the replay or the snapshot
            if event.seq != self._last_seq + 1:  # never expected: the bus numbers every event
                log.warning("feed_sequence_gap", expected=self._last_seq + 1, got=event.seq)
                self._overflowed = True
                break
            await self._send_event(event)
            while self._control:
                await self._send(self._control.popleft())
        if self._overflowed or self._control:
            self._wake.set()

    def _note_resync(self) -> None:
        now = time.monotonic()
        self._resyncs.append(now)
        while self._resyncs and now - self._resyncs[0] > self._options.resync_window_s:
            self._resyncs.popleft()
        if len(self._resyncs) > self._options.resync_limit:
            raise Stalled

    async def _snapshot(self) -> None:
        """Build a snapshot exact at the bus's current seq and send it."""
        self._snapshotting = True
        try:
            await self._build_and_send_snapshot()
        finally:
            self._snapshotting = False

    async def _build_and_send_snapshot(self) -> None:
        for _ in range(self._options.snapshot_attempts):
            self._events.clear()
            self._overflowed = False
            plugins, operations, health = await self._snapshot_source()
            if self._overflowed:
                continue  # more happened meanwhile than the queue holds: try again
            window = list(self._events)
            self._events.clear()
            plugins, operations, health = fold(plugins, operations, health, window)
            seq = self._bus.seq
            data = {"plugins": plugins, "operations": operations, "health": health}
            self._last_seq = seq
            await self._send({"type": "snapshot", "seq": seq, "data": data})
            return
        raise Stalled

    async def _send_event(self, event: Event) -> None:
        self._last_seq = event.seq
        await self._send_frame(self._hub.wire.frame(event))

    async def _send(self, message: dict[str, Any]) -> None:
        await self._send_frame(orjson.dumps(message))

    async def _send_frame(self, data: bytes) -> None:
        """Write one text frame. While the socket's send buffer is at or below its low-water
        mark the transport is not paused, so the write cannot wait: no timer is needed (the
        common case, and the hot path of a busy feed). Otherwise a client that does not read
        the frame within ``send_timeout_s`` is stalled."""
        if self.ws.closed:
            raise ConnectionResetError("feed socket closed")
        if self._can_write_now():
            await self.ws.send_frame(data, WSMsgType.TEXT)
            return
        try:
            async with asyncio.timeout(self._options.send_timeout_s):
                await self.ws.send_frame(data, WSMsgType.TEXT)
        except TimeoutError:
            raise Stalled from None

    def _can_write_now(self) -> bool:
        transport = self._transport
        if not isinstance(transport, asyncio.WriteTransport) or transport.is_closing():
            return False
        if self._low_water is None:
            self._low_water = transport.get_write_buffer_limits()[0]
        return transport.get_write_buffer_size() <= self._low_water
