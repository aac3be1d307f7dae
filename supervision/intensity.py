"""Restart intensity (a sliding window per supervisor, across children) and backoff delays."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class RestartIntensity:
    """At most ``max_restarts`` restarts within ``period`` seconds; every attempt counts.

    The delay before a child's next attempt doubles with each of its own restarts still in the
    window: ``min(backoff_max, backoff_initial * 2**(n - 1))``.
    """

    def __init__(
        self,
        max_restarts: int,
        period: float,
        backoff_initial: float,
        backoff_max: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_restarts < 0 or period <= 0:
            raise ValueError("max_restarts must be >= 0 and period > 0")
        if backoff_initial < 0 or backoff_max < backoff_initial:
            raise ValueError("need 0 <= backoff_initial <= backoff_max")
        self.max_restarts = max_restarts
        self.period = period
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._clock = clock
        self._window: deque[tuple[float, str]] = deque()

    def record(self, child_id: str) -> bool:
        """Count a restart of ``child_id`` now; False when that passes the limit."""
        now = self._clock()
        self._window.append((now, child_id))
        horizon = now - self.period
        while self._window and self._window[0][0] < horizon:
            self._window.popleft()
        return len(self._window) <= self.max_restarts

    def backoff(self, child_id: str) -> float:
        """Seconds to wait before the attempt just recorded for ``child_id``."""
        own = sum(1 for _, cid in self._window if cid == child_id)
        if own <= 0 or self.backoff_initial == 0:
            return self.backoff_initial
        return min(self.backoff_max, self.backoff_initial * 2 ** min(own - 1, 60))

    def clear(self) -> None:
        self._window.clear()
