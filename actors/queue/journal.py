"""The queue's write-ahead journal: every status change of an operation, appended and fsynced.

One JSON line per change, the full record each time, so replay keeps the last line per id.
At start, operations the process died under are found here; compaction keeps the file
bounded to the active operations plus the newest ``retention`` finished ones.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import orjson
import structlog

from actors.fsio import Syncer, atomic_write

from .records import Operation

log = structlog.get_logger(__name__)

JOURNAL_NAME = "operations.jsonl"


class Journal:
    """Blocking journal I/O; the queue actor calls it through ``asyncio.to_thread``."""

    def __init__(
        self, folder: Path, *, retention: int = 1000, syncer: Syncer | None = None
    ) -> None:
        self.path = folder / JOURNAL_NAME
        self.retention = retention
        self.syncer = syncer or Syncer()
        self._lines = 0

    def replay(self) -> list[Operation]:
        """Every operation the journal knows, oldest first; torn or corrupt lines are skipped."""
        latest: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lines = 0
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        for number, line in enumerate(raw.split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
                operation_id = record["operation_id"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                log.warning("journal_line_skipped", line=number)
                continue
            self._lines += 1
            latest.pop(operation_id, None)
            latest[operation_id] = record
        operations = []
        for record in latest.values():
            try:
                operations.append(Operation.from_journal(record))
            except (KeyError, TypeError, ValueError):
                log.warning("journal_record_skipped", operation_id=record.get("operation_id"))
        return operations

    def append(self, operations: list[Operation]) -> None:
        """Append one line per operation and fsync once: durable when this returns."""
        if not operations:
            return
        data = b"".join(orjson.dumps(op.to_journal()) + b"\n" for op in operations)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        try:
            self._repair_tail(fd)
            os.write(fd, data)
            self.syncer.fsync(fd)
        finally:
            os.close(fd)
        self._lines += len(operations)

    def _repair_tail(self, fd: int) -> None:
        """After a torn write, start the next record on a fresh line."""
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            os.write(fd, b"\n")

    def needs_compaction(self, live: int) -> bool:
        return self._lines > 2 * (live + self.retention) + 100

    def compact(self, operations: list[Operation]) -> list[Operation]:
        """Rewrite the journal with the active operations and the newest finished ones."""
        active = [op for op in operations if op.active]
        finished = [op for op in operations if not op.active][-self.retention :]
        kept_ids = {op.operation_id for op in active} | {op.operation_id for op in finished}
        kept = [op for op in operations if op.operation_id in kept_ids]
        data = b"".join(orjson.dumps(op.to_journal()) + b"\n" for op in kept)
        atomic_write(self.path, data, syncer=self.syncer)
        self._lines = len(kept)
        return kept
