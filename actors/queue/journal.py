"""The queue's write-ahead journal: every status change of an operation, appended and fsynced.

One JSON line per change, the full record each time, so replay keeps the last line per id.
At start, operations the process died under are found here; compaction drops the oldest
finished operations so the file stays bounded. All I/O runs on one thread of its own, so
appends land in the order they were made, and a compaction never loses a later append.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import orjson
import structlog

from actors.damage import Damage, unusable_file
from actors.fsio import Syncer, atomic_write

from .records import Operation

log = structlog.get_logger(__name__)

JOURNAL_NAME = "operations.jsonl"
LOST_WITH_JOURNAL = (
    "the operations it tracked: those pending or running when the process stopped cannot be "
    "marked interrupted, finished ones can no longer be looked up by id (history keeps them)"
)
T = TypeVar("T")


class Journal:
    def __init__(
        self, folder: Path, *, syncer: Syncer | None = None, damage: Damage | None = None
    ) -> None:
        self.path = folder / JOURNAL_NAME
        self.syncer = syncer or Syncer()
        self.damage = damage or Damage(folder.parent)
        self.lines = 0  # lines in the file, for deciding when to compact
        self._bad_lines = 0  # complete lines that held no record, at the last read
        self._thread: ThreadPoolExecutor | None = None

    # --- async interface (one I/O thread, in order) ----------------------------------

    def _run(self, function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="journal")
        return asyncio.get_running_loop().run_in_executor(self._thread, function, *args)

    async def replay(self) -> list[Operation]:
        """Every operation the journal knows, oldest first; torn or corrupt lines are skipped."""
        return await self._run(self._replay)

    async def append(self, operations: Iterable[Operation]) -> None:
        """Durable when this returns; raises ``OSError`` (a full disk) and writes nothing then."""
        await self._run(self._append, list(operations))

    async def compact(self, drop: set[str]) -> None:
        """Rewrite the journal without the operations in ``drop`` (old finished ones)."""
        await self._run(self._compact, drop)

    # --- blocking work -----------------------------------------------------------------

    def _latest(self) -> OrderedDict[str, dict[str, Any]]:
        latest: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.lines = self._bad_lines = 0
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return latest
        lines = raw.split(b"\n")
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
                operation_id = record["operation_id"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                log.warning("journal_line_skipped", line=number)
                self._bad_lines += number < len(lines)  # the last one may be a torn write
                continue
            self.lines += 1
            latest.pop(operation_id, None)
            latest[operation_id] = record
        return latest

    def _replay(self) -> list[Operation]:
        why = unusable_file(self.path)
        latest: OrderedDict[str, dict[str, Any]] = OrderedDict()
        if why is None:
            try:
                latest = self._latest()
            except OSError as exc:
                why = f"cannot be read ({exc.strerror})"
        if why is None and not latest and self._bad_lines:
            why = "holds no operation record, only unreadable lines"
        if why is not None:  # never fatal: a journal the queue cannot start from is set aside
            self.damage.set_aside(self.path, why=why, lost=LOST_WITH_JOURNAL)
            latest, self.lines = OrderedDict(), 0
        operations = []
        for record in latest.values():
            try:
                operations.append(Operation.from_journal(record))
            except (KeyError, TypeError, ValueError):
                log.warning("journal_record_skipped", operation_id=record.get("operation_id"))
        return operations

    def _append(self, operations: list[Operation]) -> None:
        if not operations:
            return
        data = b"".join(orjson.dumps(op.to_journal()) + b"\n" for op in operations)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # after a torn write, start on a fresh line
            try:
                if os.write(fd, data) != len(data):  # a disk that filled up mid-record
                    raise OSError(errno.ENOSPC, "No space left on device")
                self.syncer.fsync(fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)  # all of this append or none of it
                raise
        finally:
            os.close(fd)
        self.lines += len(operations)

    def _compact(self, drop: set[str]) -> None:
        kept = [record for op_id, record in self._latest().items() if op_id not in drop]
        data = b"".join(orjson.dumps(record) + b"\n" for record in kept)
        atomic_write(self.path, data, syncer=self.syncer)
        self.lines = len(kept)
