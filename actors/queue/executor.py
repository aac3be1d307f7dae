"""What the queue asks of whoever does an operation's work (the plugin executor, or a test's)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from .records import Operation

Report = Callable[[str, float, str], None]  # stage, progress 0..1, message
Commit = Callable[[], Awaitable[dict[str, Any]]]


class Executor(Protocol):
    async def recover(self) -> None:
        """Called once by each queue incarnation before any operation: undo what a crash left."""
        ...

    async def prepare(self, op: Operation, report: Report, private: dict[str, Any]) -> Commit:
        """Do the cancellable part of ``op`` (download, verify, land the files).

        ``private`` holds what the request gave that is never journaled (an uploaded archive
        under ``archive``, a URL with its credentials under ``repo_url``).
        Cancellation or a deadline at any await point must leave everything as it was.
        Returns the commit step: the bookkeeping after the files have landed (config),
        run to completion even if a cancel arrives; it returns the result record.
        """
        ...

    async def settle(self, op: Operation) -> dict[str, Any] | None:
        """After :meth:`recover`: finish ``op``, which was running when the process died.

        Returns the result if its work had passed its commit point (it is now complete),
        ``None`` if it was rolled back.
        """
        ...
