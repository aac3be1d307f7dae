"""The one polling helper of the suite: wait until a condition holds, bounded in time and count."""

from __future__ import annotations

import asyncio
import inspect
import math
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def wait_until(
    condition: Callable[[], T | Awaitable[T]],
    *,
    what: str,
    timeout: float = 10.0,
    interval: float = 0.01,
) -> T:
    """Check ``condition`` (sync, or async such as an HTTP request) until it returns a truthy
    value, and return that value.

    Checks at most ``timeout / interval + 1`` times and never past ``timeout`` seconds; then
    fails with an ``AssertionError`` naming ``what`` was awaited and the last value seen.
    Prefer waiting on an event or a future where the code offers one; poll what it does not.
    """
    deadline = time.monotonic() + timeout
    value: T | None = None
    scope = asyncio.timeout(timeout)  # also bounds one check that hangs (an HTTP request)
    try:
        async with scope:
            for _ in range(math.ceil(timeout / interval) + 1):
                result = condition()
                value = await result if inspect.isawaitable(result) else result
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                await asyncio.sleep(min(interval, left))
    except TimeoutError:
        if not scope.expired():
            raise  # the condition's own timeout, not ours
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last seen: {value!r})")
