"""What the queue asks of whoever does an operation's work (the plugin executor, or a test's)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from .records import Operation

Report = Callable[[str, float, str], None]  # stage, progress 0..1, message
Commit = Callable[[], Awaitable[dict[str, Any]]]


class Executor(Protocol):
    async def prepare(self, op: Operation, report: Report, payload: bytes | None) -> Commit:
        """Do the cancellable part of ``op`` (download, verify, land the files).

        Cancellation or a deadline at any await point must leave everything as it was.
        Returns the commit step: the bookkeeping after the files have landed (config,
        state), run to completion even if a cancel arrives; it returns the result record.
        """
        ...
