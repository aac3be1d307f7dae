"""Blocking work in a worker thread that a cancellation may interrupt but never abandon."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Interrupted(Exception):
    """Raised in a worker thread whose cancel flag is set; the caller sees ``CancelledError``."""


def check(cancel: threading.Event | None) -> None:
    """Stop the current worker-thread job if its operation was cancelled."""
    if cancel is not None and cancel.is_set():
        raise Interrupted


async def run_blocking(
    fn: Callable[..., T], /, *args: Any, cancel: threading.Event | None = None, **kwargs: Any
) -> T:
    """Run ``fn`` in a thread; on cancellation set ``cancel``, wait for the thread, then re-raise.

    Waiting matters: the caller's clean-up (removing staging, restoring a previous copy)
    must never race a thread that is still writing.
    """
    task = asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if cancel is not None:
            cancel.set()
        await settle(task)
        raise


async def run_to_completion(awaitable: Awaitable[T]) -> tuple[T, bool]:
    """Await ``awaitable`` through any cancellation; return its value and whether one arrived."""
    task = asyncio.ensure_future(awaitable)
    try:
        return await asyncio.shield(task), False
    except asyncio.CancelledError:
        await settle(task)
        return task.result(), True


async def settle(task: asyncio.Future[Any]) -> None:
    """Wait until ``task`` is done, ignoring further cancellations, and mark its outcome as seen."""
    while not task.done():
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            continue
    if not task.cancelled():
        task.exception()
