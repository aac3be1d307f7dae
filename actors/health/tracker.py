"""The last supervisor health the bus announced, for the sd_notify watchdog to consult."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actors.events import Event, EventBus


class HealthTracker:
    """Follows ``health`` events of kind ``supervisor``; ``ok_to_ping`` is False while unhealthy."""

    def __init__(self) -> None:
        self.status = "ok"  # nothing announced yet: the tree's own liveness decides
        self.key: tuple[str, tuple[tuple[str, str], ...]] = ("ok", ())  # status, reason codes

    def follow(self, bus: EventBus) -> Callable[[], None]:
        """Subscribe to ``bus``; returns the unsubscriber."""
        return bus.subscribe(self._on_event, topics=["health"])

    def _on_event(self, event: Event) -> None:
        data = event.data
        if data.get("kind") == "supervisor" and isinstance(data.get("status"), str):
            self.status = data["status"]
            self.key = (self.status, announced(data.get("reasons") or []))

    @property
    def ok_to_ping(self) -> bool:
        return self.status != "unhealthy"


def announced(reasons: list[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    """What makes a set of reasons different from another: their codes and severities."""
    return tuple(sorted((str(r.get("code")), str(r.get("severity"))) for r in reasons))
