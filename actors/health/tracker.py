"""The last supervisor health the bus announced, for the sd_notify watchdog to consult."""

from __future__ import annotations

from collections.abc import Callable

from actors.events import Event, EventBus


class HealthTracker:
    """Follows ``health`` events of kind ``supervisor``; ``ok_to_ping`` is False while unhealthy."""

    def __init__(self) -> None:
        self.status = "ok"  # nothing announced yet: the tree's own liveness decides

    def follow(self, bus: EventBus) -> Callable[[], None]:
        """Subscribe to ``bus``; returns the unsubscriber."""
        return bus.subscribe(self._on_event, topics=["health"])

    def _on_event(self, event: Event) -> None:
        if event.data.get("kind") == "supervisor" and isinstance(event.data.get("status"), str):
            self.status = event.data["status"]

    @property
    def ok_to_ping(self) -> bool:
        return self.status != "unhealthy"
