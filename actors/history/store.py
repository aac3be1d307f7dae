"""History files: append-only ``operations-NNNN.jsonl`` segments, rotated by size, capped in total.

Blocking by design (the actor calls it through ``asyncio.to_thread``); one writer only.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import structlog

from actors.damage import Damage, unusable_file
from actors.fsio import Syncer
from actors.history.query import (
    HistoryQuery,
    Position,
    Segment,
    id_prefix,
    locate,
    record_at,
    scan,
    starts_with,
)
from actors.history.reader import complete_end
from actors.history.records import MAX_RECORD_BYTES, is_record

log = structlog.get_logger(__name__, actor="history")

SEGMENT_NAME = re.compile(r"^operations-(\d{4,})\.jsonl$")
CURSOR_CACHE_SIZE = 256


@dataclass(frozen=True, slots=True)
class HistoryLimits:
    max_file_bytes: int = 4 * 1024 * 1024
    max_total_bytes: int = 64 * 1024 * 1024
    max_files: int | None = None


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """Records newest first; ``next_before`` is the next page's cursor (``None`` at the end)."""

    records: list[dict[str, Any]]
    next_before: str | None
    scanned_bytes: int


def segment_name(number: int) -> str:
    return f"operations-{number:04d}.jsonl"


_LOST_WITH_SEGMENT = "the operation history records it held (older and newer files are kept)"


def _damage_of(path: Path) -> str | None:
    """Why a segment cannot be history: not a readable file, or its first line is no record.

    Reads one line at most, so start-up stays cheap; a torn last line is repaired elsewhere.
    """
    why = unusable_file(path)
    if why is not None:
        return why
    try:
        with path.open("rb") as handle:
            head = handle.read(MAX_RECORD_BYTES + 1)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    end = head.find(b"\n")
    if end < 0:  # one unfinished line (a crash mid-append) or one longer than any record
        return "holds no complete history record" if len(head) > MAX_RECORD_BYTES else None
    try:
        first = orjson.loads(head[:end])
    except orjson.JSONDecodeError:
        first = None
    return None if is_record(first) else "does not start with a history record"


class HistoryStore:
    def __init__(
        self,
        folder: Path,
        limits: HistoryLimits | None = None,
        syncer: Syncer | None = None,
        damage: Damage | None = None,
    ) -> None:
        self.folder = folder
        self.limits = limits or HistoryLimits()
        self.syncer = syncer or Syncer()
        self.damage = damage or Damage(folder.parent)
        self._segments: list[Segment] = []  # oldest first
        self._fd: int | None = None  # the newest segment, open for appending
        self._cursors: OrderedDict[str, Position] = OrderedDict()

    # -- start-up and shutdown -------------------------------------------------------------

    def open(self) -> None:
        """Find the segments and their sizes; reads no record (start-up costs per file)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        segments = []
        with os.scandir(self.folder) as entries:
            for entry in entries:
                match = SEGMENT_NAME.match(entry.name)
                if match is None:
                    continue
                why = _damage_of(Path(entry.path))
                if why is not None:  # never fatal, never silently skipped: set aside, reported
                    self.damage.set_aside(Path(entry.path), why=why, lost=_LOST_WITH_SEGMENT)
                elif entry.is_file(follow_symlinks=False):
                    segments.append(Segment(int(match[1]), Path(entry.path), entry.stat().st_size))
        self._segments = sorted(segments, key=lambda s: s.number)
        log.info("history_opened", files=len(self._segments), bytes=self.total_bytes)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @property
    def segments(self) -> Sequence[Segment]:
        return tuple(self._segments)

    @property
    def total_bytes(self) -> int:
        return sum(segment.size for segment in self._segments)

    # -- writing ---------------------------------------------------------------------------

    def append(self, lines: Sequence[bytes]) -> None:
        """Append encoded records (newline-terminated); durable on return, one fsync per call."""
        data = b"".join(lines)
        if not data:
            return
        if self._fd is None:
            self._open_newest()
        current = self._segments[-1]
        if current.size and current.size + len(data) > self.limits.max_file_bytes:
            self._rotate()
            current = self._segments[-1]
        assert self._fd is not None
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            self.syncer.fsync(self._fd)
        except OSError:
            self._undo_partial_write(current)
            raise
        current.size += len(data)

    def _undo_partial_write(self, current: Segment) -> None:
        """Cut what a failed batch left; if that fails too, reopen and repair on next append."""
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, current.size)
        except OSError:
            os.close(self._fd)
            self._fd = None

    def _open_newest(self) -> None:
        if not self._segments:
            self._create_segment(1)
            return
        current = self._segments[-1]
        self._fd = os.open(current.path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
        size = os.fstat(self._fd).st_size
        good = complete_end(self._fd, size)
        if good != size:  # a crash tore the last line: drop the unacknowledged fragment
            os.ftruncate(self._fd, good)
            self.syncer.fsync(self._fd)
            log.warning("history_torn_tail_repaired", file=current.path.name, dropped=size - good)
        current.size = good
        self._prune()

    def _rotate(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._create_segment(self._segments[-1].number + 1)
        self._prune()

    def _create_segment(self, number: int) -> None:
        path = self.folder / segment_name(number)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            self.syncer.fsync_dir(self.folder)
        except OSError:
            os.close(fd)
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        self._fd = fd
        self._segments.append(Segment(number, path, os.fstat(fd).st_size))
        log.info("history_segment_created", file=path.name)

    def _prune(self) -> None:
        """Delete the oldest segments beyond the total size or file-count cap (never the newest)."""
        limits = self.limits
        while len(self._segments) > 1 and (
            self.total_bytes > limits.max_total_bytes
            or (limits.max_files is not None and len(self._segments) > limits.max_files)
        ):
            oldest = self._segments.pop(0)
            with contextlib.suppress(FileNotFoundError):
                oldest.path.unlink()
            log.info("history_segment_pruned", file=oldest.path.name, bytes=oldest.size)

    # -- reading ---------------------------------------------------------------------------

    def query(self, query: HistoryQuery) -> HistoryPage:
        start, searched = None, 0
        if query.before_id is not None:
            start, searched = self._position_of(query.before_id)
            if start is None:  # never recorded, or pruned with everything older than it
                return HistoryPage([], None, searched)
        result = scan(self._segments, query, start, query.limit + 1)
        next_before = None
        if len(result.records) > query.limit:
            del result.records[query.limit :]
            next_before = result.records[-1]["operation_id"]
            self._remember(next_before, result.positions[query.limit - 1])
        return HistoryPage(result.records, next_before, searched + result.scanned_bytes)

    def find(self, operation_id: str) -> dict[str, Any] | None:
        """The newest record of ``operation_id``, or ``None``."""
        position, _ = self._position_of(operation_id)
        segment = self._segment(position.segment) if position else None
        return record_at(segment, position) if segment and position else None

    def _position_of(self, operation_id: str) -> tuple[Position | None, int]:
        cached = self._cursors.get(operation_id)
        if cached is not None:
            segment = self._segment(cached.segment)
            if segment is not None and starts_with(segment, cached, id_prefix(operation_id)):
                return cached, 0
            del self._cursors[operation_id]
        return locate(self._segments, operation_id)

    def _remember(self, operation_id: str, position: Position) -> None:
        self._cursors[operation_id] = position
        self._cursors.move_to_end(operation_id)
        while len(self._cursors) > CURSOR_CACHE_SIZE:
            self._cursors.popitem(last=False)

    def _segment(self, number: int) -> Segment | None:
        for segment in reversed(self._segments):
            if segment.number == number:
                return segment
        return None
