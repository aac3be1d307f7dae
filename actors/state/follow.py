"""Wiring: the state follows config, operation and plugin health events, never missing one.

A full mailbox does not drop an event: the message waits in a task for room, and the config
generation it carries keeps a late arrival from overwriting a newer value.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from actors.events import Event, EventBus
from actors.queue.records import TERMINAL
from actors.state.messages import FollowConfig, FollowHealth, FollowOperation
from supervision import ActorRef, ActorStopped, MailboxFull


def message_for(event: Event) -> Any | None:
    data = event.data
    if event.topic == "config":
        if data.get("status") != "completed" or not isinstance(data.get("generation"), int):
            return None
        enabled = data.get("enabled") or {}
        if data.get("plugin_id") is None and not enabled:
            return None
        return FollowConfig(data["generation"], data.get("plugin_id"), dict(enabled))
    if event.topic == "operation" and data.get("status") in TERMINAL:
        return FollowOperation(data)
    if event.topic == "health" and data.get("kind") == "plugin":
        status = (data.get("health") or {}).get("status")
        if isinstance(data.get("plugin_id"), str) and isinstance(status, str):
            return FollowHealth(data["plugin_id"], status)
    return None


def follow_events(bus: EventBus, state: ActorRef) -> Callable[[], None]:
    """Subscribe ``state`` to config, operation and plugin health events; returns the
    unsubscriber."""
    waiting: set[asyncio.Task[None]] = set()

    async def deliver_later(message: Any) -> None:
        with contextlib.suppress(ActorStopped):
            await state.tell(message)

    def on_event(event: Event) -> None:
        message = message_for(event)
        if message is None:
            return
        try:
            state.tell_nowait(message)
        except MailboxFull:
            task = asyncio.get_running_loop().create_task(deliver_later(message))
            waiting.add(task)
            task.add_done_callback(waiting.discard)
        except ActorStopped:
            pass  # the tree is stopping; the next start rebuilds the view from disk and config

    return bus.subscribe(on_event, topics=["config", "operation", "health"])
