"""A logging filter: the same record passes a few times per interval, the rest are counted."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SUPPRESSED_KEY = "suppressed_repeats"
# Keys whose value changes on every call without making the event a different one.
_VOLATILE = frozenset({"timestamp", SUPPRESSED_KEY})


@dataclass(slots=True)
class _Window:
    start: float
    emitted: int = 1
    suppressed: int = 0


class RepeatFilter(logging.Filter):
    """At most ``burst`` identical records per ``interval_s``; the rest are dropped and counted.

    Records are identical when logger, level, message and every field (the timestamp aside)
    are equal, so a tight loop of one error collapses while events about different things
    (other operation ids, other paths) all pass. The first record let through after a
    window with drops carries ``suppressed_repeats``: how many of it were dropped.
    """

    def __init__(
        self,
        burst: int = 5,
        interval_s: float = 60.0,
        *,
        max_keys: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.burst = burst
        self.interval_s = interval_s
        self.max_keys = max_keys
        self._clock = clock
        self._windows: dict[tuple[Any, ...], _Window] = {}
        self._lock = threading.Lock()  # records arrive from worker threads too

    def filter(self, record: logging.LogRecord) -> bool:
        key = record_key(record)
        with self._lock:
            now = self._clock()
            window = self._windows.get(key)
            if window is not None and now - window.start < self.interval_s:
                if window.emitted < self.burst:
                    window.emitted += 1
                    return True
                window.suppressed += 1
                return False
            self._windows[key] = _Window(start=now)
            if len(self._windows) > self.max_keys:
                self._evict(now)
        if window is not None and window.suppressed:
            _note_suppressed(record, window.suppressed)
        return True

    def _evict(self, now: float) -> None:
        """Forget finished windows first, then the oldest half: memory stays bounded."""
        for key in [k for k, w in self._windows.items() if now - w.start >= self.interval_s]:
            del self._windows[key]
        if len(self._windows) > self.max_keys:
            oldest = sorted(self._windows, key=lambda k: self._windows[k].start)
            for key in oldest[: len(oldest) // 2]:
                del self._windows[key]


def record_key(record: logging.LogRecord) -> tuple[Any, ...]:
    """What makes two records "the same event": a hashable summary, timestamps left out."""
    if isinstance(record.msg, dict):  # a structlog event dict (wrap_for_formatter)
        fields = tuple(
            sorted(
                (name, _summary(name, value))
                for name, value in record.msg.items()
                if name not in _VOLATILE and not name.startswith("_")
            )
        )
        return (record.name, record.levelno, fields)
    failure = _summary("exc_info", record.exc_info) if record.exc_info else None
    return (record.name, record.levelno, record.getMessage(), failure)


def _summary(name: str, value: Any) -> str:
    if name == "exc_info":
        if value is True:  # log.exception(...): the exception being handled right now
            value = sys.exc_info()[1]
        elif isinstance(value, tuple):
            value = value[1]
    return repr(value)


def _note_suppressed(record: logging.LogRecord, count: int) -> None:
    if isinstance(record.msg, dict):
        record.msg[SUPPRESSED_KEY] = count
    else:
        setattr(record, SUPPRESSED_KEY, count)  # copied into the event by ExtraAdder
