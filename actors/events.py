"""The event bus: every actor publishes its changes here; history and the WebSocket feed subscribe.

Each event gets a sequence number that grows by one. A bounded ring buffer keeps recent
events so a reconnecting client can ask for those after a given sequence number.
Subscribers are plain callables that must not block (put into a bounded queue, ``tell_nowait``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import structlog

log = structlog.get_logger(__name__)

TOPICS = frozenset({"operation", "plugin_state", "health", "config", "reconcile"})


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    topic: str
    data: dict[str, Any]


Subscriber = Callable[[Event], None]


class EventBus:
    def __init__(self, buffer_size: int = 1024) -> None:
        self._seq = 0
        self._buffer: deque[Event] = deque(maxlen=buffer_size)
        self._subscribers: dict[int, tuple[frozenset[str] | None, Subscriber]] = {}
        self._next_token = 0

    @property
    def seq(self) -> int:
        """Sequence number of the last event published (0 before the first)."""
        return self._seq

    def publish(self, topic: str, data: dict[str, Any]) -> Event:
        if topic not in TOPICS:
            raise ValueError(f"unknown event topic {topic!r}")
        self._seq += 1
        event = Event(self._seq, topic, data)
        self._buffer.append(event)
        for topics, callback in list(self._subscribers.values()):
            if topics is None or topic in topics:
                try:
                    callback(event)
                except Exception:  # a faulty subscriber must never break the publisher
                    log.exception("event_subscriber_failed", topic=topic, seq=event.seq)
        return event

    def subscribe(
        self, callback: Subscriber, topics: Iterable[str] | None = None
    ) -> Callable[[], None]:
        """Call ``callback`` for every later event (of ``topics``); returns the unsubscriber."""
        token = self._next_token
        self._next_token += 1
        self._subscribers[token] = (frozenset(topics) if topics is not None else None, callback)

        def unsubscribe() -> None:
            self._subscribers.pop(token, None)

        return unsubscribe

    def since(self, seq: int) -> list[Event] | None:
        """Events after ``seq`` if all are still buffered, else ``None`` (send a snapshot)."""
        if seq >= self._seq:
            return []
        if not self._buffer or self._buffer[0].seq > seq + 1:
            return None
        return [event for event in self._buffer if event.seq > seq]
