"""``ActorRef``: the handle callers hold; it outlives restarts because it owns the mailbox."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any

from supervision.errors import AskTimeout, MailboxFull
from supervision.mailbox import Mailbox, Reply

if TYPE_CHECKING:
    from supervision.cell import ActorCell

_get_running_loop = asyncio.get_running_loop


def _expire(reply: Reply, ref: ActorRef, message: Any, timeout: float) -> None:
    if not reply.done():
        reply.set_exception(
            AskTimeout(
                f"actor {ref.name} did not answer {type(message).__name__} within {timeout:g}s",
                actor=ref.name,
            )
        )


class _Deadlines:
    """Ask timeouts without a timer per ask: one timer over a deque of deadlines in order.

    Asks through one ref mostly share a timeout, so their deadlines arrive in order; an ask
    whose deadline is earlier than the last one queued gets a timer of its own instead.
    Answered asks are dropped from the head as new ones arrive (an actor answers in order).
    """

    __slots__ = ("_entries", "_loop", "_ref", "_timer")

    def __init__(self, ref: ActorRef) -> None:
        self._ref = ref
        self._entries: deque[tuple[float, Reply, Any, float]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def watch(
        self, loop: asyncio.AbstractEventLoop, reply: Reply, message: Any, timeout: float
    ) -> asyncio.TimerHandle | None:
        """Fail ``reply`` with ``AskTimeout`` after ``timeout``; a handle to cancel, or None."""
        deadline = loop.time() + timeout
        entries = self._entries
        if loop is not self._loop:  # first use, or a new event loop: forget the old one
            entries.clear()
            self._loop = loop
            self._timer = None
        elif entries and entries[-1][0] > deadline:
            return loop.call_at(deadline, _expire, reply, self._ref, message, timeout)
        while entries and entries[0][1].done():
            entries.popleft()
        entries.append((deadline, reply, message, timeout))
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._fire)
        return None

    def _fire(self) -> None:
        self._timer = None
        loop = self._loop
        assert loop is not None
        now = loop.time()
        entries = self._entries
        while entries:
            deadline, reply, message, timeout = entries[0]
            if not reply.done():
                if deadline > now:
                    break
                _expire(reply, self._ref, message, timeout)
            entries.popleft()
        if entries:
            self._timer = loop.call_at(entries[0][0], self._fire)


class ActorRef:
    """Send messages to one supervised actor, whichever incarnation is running."""

    __slots__ = ("_cell", "_deadlines", "_mailbox")

    def __init__(self, cell: ActorCell) -> None:
        self._cell = cell
        self._mailbox: Mailbox = cell.mailbox
        self._deadlines = _Deadlines(self)

    @property
    def name(self) -> str:
        """The actor's path in the supervision tree, e.g. ``root/config_store``."""
        return self._cell.path

    @property
    def mailbox_depth(self) -> int:
        return len(self._mailbox)

    async def ask(self, message: Any, timeout: float = 5.0) -> Any:
        """Send ``message`` and return the handler's answer, or raise the handler's exception.

        Raises ``AskTimeout`` (a ``TimeoutError``) when no answer comes within ``timeout``
        seconds (waiting for mailbox room counts), ``ActorCrashed`` if the actor crashed while
        handling it, ``ActorStopped`` if the actor stopped for good, ``NoHandler`` if it has no
        handler for the message type.
        """
        loop = _get_running_loop()
        reply = loop.create_future()
        item = (message, reply)
        if not self._mailbox.offer(item):
            started = loop.time()
            await self._enqueue(item, timeout)
            timeout = max(timeout - (loop.time() - started), 0.0)
        timer = self._deadlines.watch(loop, reply, message, timeout)
        if timer is None:
            return await reply
        try:
            return await reply
        finally:
            timer.cancel()

    async def tell(self, message: Any) -> None:
        """Queue ``message`` (not waiting for it to be handled); waits while the mailbox is full."""
        item = (message, None)
        if not self._mailbox.offer(item):
            await self._mailbox.put(item)

    def tell_nowait(self, message: Any) -> None:
        """Queue ``message`` now, or raise ``MailboxFull`` (``ActorStopped`` once stopped)."""
        if not self._mailbox.offer((message, None)):
            if self._mailbox.closed:
                raise self._cell.stopped_error()
            raise MailboxFull(
                f"mailbox of actor {self.name} is full ({self._mailbox.maxsize} messages)",
                actor=self.name,
            )

    async def _enqueue(self, item: tuple[Any, Reply], timeout: float) -> None:
        if self._mailbox.closed:
            raise self._cell.stopped_error()
        try:
            async with asyncio.timeout(timeout):
                await self._mailbox.put(item)
        except TimeoutError:
            raise AskTimeout(
                f"mailbox of actor {self.name} stayed full for {timeout:g}s",
                actor=self.name,
            ) from None

    def __repr__(self) -> str:
        return f"<ActorRef {self.name}>"

    def sends_to(self, cell: ActorCell) -> bool:
        """True when this ref delivers to ``cell`` (refs compare equal by their cell)."""
        return self._cell is cell

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActorRef) and other.sends_to(self._cell)

    def __hash__(self) -> int:
        return id(self._cell)
