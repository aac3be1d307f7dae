"""Waiting for an operation to end, by its events: survives a restart of the queue actor."""

from __future__ import annotations

import asyncio
from typing import Any

from actors.events import Event, EventBus
from supervision import ActorRef

from .messages import GetOperation
from .records import TERMINAL


async def wait_for_operation(
    bus: EventBus, queue: ActorRef, operation_id: str, timeout: float
) -> dict[str, Any] | None:
    """The operation's final record, or ``None`` if it has not ended within ``timeout``."""
    ended = asyncio.Event()

    def on_event(event: Event) -> None:
        if event.data.get("operation_id") == operation_id and event.data.get("status") in TERMINAL:
            ended.set()

    unsubscribe = bus.subscribe(on_event, topics=["operation"])
    try:
        record = await queue.ask(GetOperation(operation_id))
        if record["status"] in TERMINAL:
            return record
        try:
            async with asyncio.timeout(timeout):
                await ended.wait()
        except TimeoutError:
            return None
        return await queue.ask(GetOperation(operation_id))
    finally:
        unsubscribe()
