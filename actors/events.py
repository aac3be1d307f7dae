"""The event bus: actors publish their changes here, to callbacks subscribed by topic.

No WebSocket feed subscribes yet; who publishes and who listens today is on :class:`EventBus`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import structlog

log = structlog.get_logger(__name__)

# The event names of the contract's status feed (../shared/API.md). ``health`` and
# ``reconcile`` have no publisher yet: the health actor and the reconciler will publish them.
TOPICS = frozenset({"operation", "plugin_state", "health", "config", "reconcile"})


@dataclass(frozen=True, slots=True)
class Event:
    seq: int  # grows by one per event published on this bus
    topic: str
    data: dict[str, Any]


Subscriber = Callable[[Event], None]


class EventBus:
    """Calls the subscribers of a topic synchronously, in the publisher's turn.

    Published today: ``operation`` (the queue: each status change of an operation),
    ``plugin_state`` (the state actor: a plugin's view changed), ``config`` (the config store:
    each save). Subscribed: the history actor (``config``), the state actor's follower
    (``config``, ``operation``), ``actors.queue.waiting`` (``operation``: ``?wait=true`` and
    cancel). Subscribers must not block (put into a bounded queue, ``tell_nowait``).
    """

    def __init__(self) -> None:
        self._seq = 0
        self._subscribers: dict[int, tuple[frozenset[str] | None, Subscriber]] = {}
        self._next_token = 0

    def publish(self, topic: str, data: dict[str, Any]) -> Event:
        if topic not in TOPICS:
            raise ValueError(f"unknown event topic {topic!r}")
        self._seq += 1
        event = Event(self._seq, topic, data)
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
