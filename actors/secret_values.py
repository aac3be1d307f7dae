"""The secret values the process knows (API tokens, ``x-secret`` settings), for the log redactor.

The owners of secrets (the config store, the token keeper) add every value they load or
save; the logging side (``web/redaction.py``) reads them to mask each one wherever it appears
in a log line. Values are only ever added: a secret replaced or cleared may still sit in a
message queued before the change, so it stays masked for the life of the process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

# Shorter strings are masked by key only (``password=``, ``token=``...): as substrings they
# would appear by chance in ordinary log text and make it unreadable.
MIN_SECRET_CHARS = 4
MAX_VALUES = 10_000  # a config with more secret strings than this is not a real device's


class SecretValues:
    """A thread-safe, grow-only set of strings never to be written to a log (one per process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._ordered: tuple[str, ...] = ()

    def add(self, value: Any) -> None:
        """Remember ``value`` if it is a string long enough to be told apart from ordinary text."""
        self.add_all((value,))

    def add_all(self, values: Iterable[Any]) -> None:
        fresh = {v for v in values if isinstance(v, str) and len(v.strip()) >= MIN_SECRET_CHARS}
        with self._lock:
            fresh -= self._values
            if not fresh or len(self._values) >= MAX_VALUES:
                return
            self._values |= set(list(fresh)[: MAX_VALUES - len(self._values)])
            # Longest first: a secret that contains another is masked whole.
            self._ordered = tuple(sorted(self._values, key=lambda v: (-len(v), v)))

    def add_leaves(self, document: Any) -> None:
        """Remember every string inside ``document`` (nested dicts and lists)."""
        self.add_all(_leaves(document))

    def values(self) -> tuple[str, ...]:
        """Every value, longest first; the same tuple object until a value is added."""
        return self._ordered


def _leaves(document: Any) -> Iterable[Any]:
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            yield item
