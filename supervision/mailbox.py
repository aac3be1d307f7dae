"""A bounded actor mailbox on a deque: back-pressure, priority insertion, draining from the head.

An item is a ``(message, reply)`` tuple: ``reply`` is the asker's future, or None for a tell.
One reader (the actor loop) waits with ``waiter()``; writers use ``offer`` (never waits),
``put`` (waits for room, first come first served) or ``put_front`` (runtime control messages
such as liveness pings, ahead of everything and outside the bound).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

Reply = asyncio.Future[Any]
Item = tuple[Any, Reply | None]
ErrorFactory = Callable[[], BaseException]


class Control:
    """Base of the runtime's own messages (pings, stop requests); never seen by handlers."""

    __slots__ = ("label",)

    def __init__(self, label: str) -> None:
        self.label = label

    def __repr__(self) -> str:
        return f"<{self.label}>"


class Envelope:
    """A queued message taken by ``Actor.drain``, with the means to answer its sender."""

    __slots__ = ("_reply", "message")

    def __init__(self, message: Any, reply: Reply | None) -> None:
        self.message = message
        self._reply = reply

    @property
    def is_ask(self) -> bool:
        return self._reply is not None

    @property
    def answered(self) -> bool:
        """True once replied or failed (or when the asker gave up); always True for a tell."""
        return self._reply is None or self._reply.done()

    def reply(self, value: Any = None) -> None:
        """Answer the ask with ``value``; a no-op for a tell or when the asker gave up."""
        if self._reply is not None and not self._reply.done():
            self._reply.set_result(value)

    def fail(self, error: BaseException) -> None:
        """Raise ``error`` in the asker; a no-op for a tell or when the asker gave up."""
        if self._reply is not None and not self._reply.done():
            self._reply.set_exception(error)

    def __repr__(self) -> str:
        kind = "ask" if self.is_ask else "tell"
        return f"Envelope({kind} {type(self.message).__name__})"


class Mailbox:
    """Bounded FIFO with one reader; see the module docstring."""

    __slots__ = ("_closed", "_getter", "_items", "_maxsize", "_putters")

    def __init__(self, maxsize: int) -> None:
        self._items: deque[Item] = deque()
        self._maxsize = maxsize
        self._getter: asyncio.Future[None] | None = None
        self._putters: deque[asyncio.Future[None]] = deque()
        self._closed: ErrorFactory | None = None

    def __len__(self) -> int:
        return len(self._items)

    @property
    def maxsize(self) -> int:
        return self._maxsize

    @property
    def closed(self) -> bool:
        return self._closed is not None

    def offer(self, item: Item) -> bool:
        """Append ``item`` if there is room and no earlier writer waits; False otherwise."""
        if len(self._items) >= self._maxsize or self._putters or self._closed is not None:
            return False
        self._items.append(item)
        getter = self._getter
        if getter is not None:
            self._getter = None
            if not getter.done():
                getter.set_result(None)
        return True

    async def put(self, item: Item) -> None:
        """Append ``item``, waiting for room behind earlier waiting writers."""
        loop = asyncio.get_running_loop()
        first = True
        while True:
            if self._closed is not None:
                raise self._closed()
            if len(self._items) < self._maxsize and (not self._putters or not first):
                break
            waiter = loop.create_future()
            if first:
                self._putters.append(waiter)
            else:  # woken but overtaken: keep our place at the front
                self._putters.appendleft(waiter)
            first = False
            try:
                await waiter
            except BaseException:
                self._forget_putter(waiter)
                raise
        self._items.append(item)
        self._wake_getter()

    def put_front(self, item: Item) -> None:
        """Insert ``item`` at the head, ignoring the bound (runtime control messages only)."""
        self._items.appendleft(item)
        self._wake_getter()

    def waiter(self) -> asyncio.Future[None]:
        """A future the single reader awaits; it resolves once an item is queued."""
        waiter = asyncio.get_running_loop().create_future()
        if self._items:
            waiter.set_result(None)
        else:
            self._getter = waiter
        return waiter

    def poll(self) -> Item | None:
        """Remove and return the head item, or None when empty (the reader's hot path)."""
        items = self._items
        if not items:
            return None
        item = items.popleft()
        if self._putters:
            self._wake_putters(1)
        return item

    def take(self) -> Item:
        """Remove and return the head item (the caller checked there is one)."""
        item = self._items.popleft()
        if self._putters:
            self._wake_putters(1)
        return item

    def drain(self, accept: Callable[[Any], bool], limit: int) -> list[Item]:
        """Take up to ``limit`` items from the head while ``accept(message)`` holds.

        Control messages at the head are stepped over and stay queued; the first user message
        that is not accepted ends the run, so the mailbox order is never changed.
        """
        taken: list[Item] = []
        kept: list[Item] = []
        items = self._items
        while items and len(taken) < limit:
            item = items[0]
            if isinstance(item[0], Control):
                kept.append(items.popleft())
            elif accept(item[0]):
                taken.append(items.popleft())
            else:
                break
        items.extendleft(reversed(kept))
        if taken and self._putters:
            self._wake_putters(len(taken))
        return taken

    def remove_control(self) -> None:
        """Drop queued control messages left by an earlier incarnation."""
        if any(isinstance(item[0], Control) for item in self._items):
            kept = [item for item in self._items if not isinstance(item[0], Control)]
            self._items.clear()  # in place: the actor loop holds this deque
            self._items.extend(kept)

    def close(self, error: ErrorFactory) -> int:
        """Refuse new items; fail queued asks and waiting writers with ``error()``.

        Returns the number of queued tells that were dropped.
        """
        self._closed = error
        dropped = 0
        while self._items:
            message, reply = self._items.popleft()
            if reply is None:
                dropped += not isinstance(message, Control)
            elif not reply.done():
                reply.set_exception(error())
        while self._putters:
            putter = self._putters.popleft()
            if not putter.done():
                putter.set_result(None)  # the writer wakes, sees the mailbox closed and raises
        return dropped

    def reopen(self) -> None:
        self._closed = None

    def _wake_getter(self) -> None:
        getter = self._getter
        if getter is not None:
            self._getter = None
            if not getter.done():
                getter.set_result(None)

    def _wake_putters(self, count: int) -> None:
        room = self._maxsize - len(self._items)
        while self._putters and room > 0 and count > 0:
            putter = self._putters.popleft()
            if not putter.done():
                putter.set_result(None)
                room -= 1
                count -= 1

    def _forget_putter(self, waiter: asyncio.Future[None]) -> None:
        try:
            self._putters.remove(waiter)
        except ValueError:  # already woken: pass the turn on
            if len(self._items) < self._maxsize:
                self._wake_putters(1)
