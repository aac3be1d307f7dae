"""What every subscriber of the status feed shares: each event serialised once, and one task
that writes it to every subscriber that is caught up and whose socket takes it at once.

A subscriber's own writer task is woken only when it has fallen behind (its socket's buffer is
filling, it is being resynchronised, or it has replies to send). With many subscribers this
is the difference between one task wake-up per event and one per event per subscriber.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from typing import TYPE_CHECKING

import orjson
import structlog
from aiohttp import WSMsgType

from actors.events import Event

if TYPE_CHECKING:
    from web.feed_session import FeedSession

log = structlog.get_logger(__name__)


class WireCache:
    """The UTF-8 frames of the newest ``size`` events, each serialised once."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._frames: OrderedDict[int, bytes] = OrderedDict()

    def frame(self, event: Event) -> bytes:
        data = self._frames.get(event.seq)
        if data is None:
            message = {"type": "event", "seq": event.seq, "event": event.topic, "data": event.data}
            data = self._frames[event.seq] = orjson.dumps(message)
            if len(self._frames) > self._size:
                self._frames.popitem(last=False)
        return data


class FeedHub:
    """Hands events to caught-up sessions in order; its task starts with the first event."""

    def __init__(self, wire: WireCache | None = None) -> None:
        self.wire = wire or WireCache()
        self._pending: deque[tuple[FeedSession, Event]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def push(self, session: FeedSession, event: Event) -> None:
        """Called from the bus (must not block): ``session`` gets ``event`` on the next turn."""
        self._pending.append((session, event))
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="feed-hub")

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            framed, frame = 0, b""
            while self._pending:
                session, event = self._pending.popleft()
                try:
                    if not session.take_direct(event):
                        continue
                    if event.seq != framed:  # each event's frame looked up once, not per socket
                        framed, frame = event.seq, self.wire.frame(event)
                    await session.ws.send_frame(frame, WSMsgType.TEXT)
                except ConnectionError:
                    pass  # the client went away; its reader ends the session
                except Exception:  # one session's fault must not stop the feed for the others
                    log.exception("feed_delivery_failed", seq=event.seq)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._pending.clear()
