"""Newest-first history queries: filters, ``limit`` and the ``before`` cursor, read backwards."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import structlog

from actors.errors import PlugvisorError, invalid_input
from actors.history.reader import (
    complete_end,
    lines_reverse,
    matching_lines_reverse,
    read_line_at,
    reverse_blocks,
)
from actors.history.records import (
    MAX_RECORD_BYTES,
    OPERATION_TYPES,
    STATUSES,
    is_record,
    normalize_time,
    validate_choice,
    validate_operation_id,
)
from actors.plugin_ids import validate_plugin_id

log = structlog.get_logger(__name__, actor="history")

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
_LOOKS_LIKE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}")
_CURSOR_ID = re.compile(r"[0-9a-fA-F]{32}")  # every operation id the system makes is uuid4 hex
BAD_CURSOR = "Query parameter 'before' must be an operation id (32 hex digits) or an ISO 8601 time"


def parse_cursor(value: str) -> str:
    """A client's ``before``: an operation id (lowercased) or an ISO 8601 time (normalised).

    Anything else is 400 ``INVALID_INPUT`` rather than an empty page that looks like the end.
    """
    if _CURSOR_ID.fullmatch(value):
        return value.lower()
    try:
        return normalize_time(value, "before")
    except PlugvisorError:
        raise invalid_input(BAD_CURSOR, field="before") from None


@dataclass(slots=True)
class Segment:
    """One ``operations-NNNN.jsonl`` file; ``size`` is what the store knows it wrote."""

    number: int
    path: Path
    size: int


@dataclass(frozen=True, slots=True)
class Position:
    """Where a record's line starts: segment number and byte offset."""

    segment: int
    offset: int


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """A validated query; build it with :meth:`parse` from what a caller sent."""

    plugin_id: str | None = None
    operation_type: str | None = None
    status: str | None = None
    limit: int = DEFAULT_LIMIT
    before_id: str | None = None
    before_time: str | None = None

    @classmethod
    def parse(
        cls,
        *,
        plugin_id: Any = None,
        operation_type: Any = None,
        status: Any = None,
        limit: Any = DEFAULT_LIMIT,
        before: Any = None,
    ) -> HistoryQuery:
        """Validate; ``before`` is an ISO time if it starts like a date, else an operation id."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise invalid_input(f"'limit' must be an integer from 1 to {MAX_LIMIT}", field="limit")
        before_id = before_time = None
        if isinstance(before, str) and _LOOKS_LIKE_TIME.match(before):
            before_time = normalize_time(before, "before")
        elif before is not None:
            before_id = validate_operation_id(before, "before")
        return cls(
            plugin_id=None if plugin_id is None else validate_plugin_id(plugin_id),
            operation_type=None
            if operation_type is None
            else validate_choice(operation_type, OPERATION_TYPES, "operation_type"),
            status=None if status is None else validate_choice(status, STATUSES, "status"),
            limit=limit,
            before_id=before_id,
            before_time=before_time,
        )

    def pattern(self) -> bytes | None:
        """Bytes every matching line holds (most selective filter first): the rest is not parsed."""
        for key, value in (
            ("plugin_id", self.plugin_id),
            ("operation_type", self.operation_type),
            ("status", self.status),
        ):
            if value is not None:
                return b'"' + key.encode() + b'":' + orjson.dumps(value)
        return None

    def matches(self, record: dict[str, Any]) -> bool:
        return (
            (self.plugin_id is None or record.get("plugin_id") == self.plugin_id)
            and (self.operation_type is None or record["operation_type"] == self.operation_type)
            and (self.status is None or record["status"] == self.status)
            and (self.before_time is None or record["timestamp"] < self.before_time)
        )


@dataclass(slots=True)
class ScanResult:
    records: list[dict[str, Any]] = field(default_factory=list)
    positions: list[Position] = field(default_factory=list)
    scanned_bytes: int = 0


@contextlib.contextmanager
def open_segment(segment: Segment) -> Iterator[int | None]:
    """A read-only descriptor, or ``None`` if the file is gone (pruned meanwhile)."""
    try:
        fd = os.open(segment.path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        yield None
        return
    try:
        yield fd
    finally:
        os.close(fd)


def parse_line(line: bytes, segment: Segment, offset: int) -> dict[str, Any] | None:
    """The record on ``line``, or ``None`` (logged) when the line is corrupt."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        record = None
    if is_record(record):
        return record
    log.warning("history_line_corrupt", file=segment.path.name, offset=offset, length=len(line))
    return None


def scan(
    segments: Sequence[Segment], query: HistoryQuery, start: Position | None, wanted: int
) -> ScanResult:
    """Up to ``wanted`` matching records, newest first, strictly older than ``start`` if given."""
    result = ScanResult()
    pattern = query.pattern()
    for segment in reversed(segments):
        if start is not None and segment.number > start.segment:
            continue
        with open_segment(segment) as fd:
            if fd is None:
                continue
            if start is not None and segment.number == start.segment:
                end = start.offset
            else:
                end = complete_end(fd, segment.size)
            if query.before_time is not None and _starts_not_before(fd, segment, query.before_time):
                continue
            for offset, data, begin in reverse_blocks(fd, end):
                result.scanned_bytes += len(data) - begin
                if pattern is None:
                    lines = lines_reverse(data, begin)
                else:
                    lines = matching_lines_reverse(data, begin, pattern)
                for lo, hi in lines:
                    record = parse_line(data[lo:hi], segment, offset + lo)
                    if record is None or not query.matches(record):
                        continue
                    result.records.append(record)
                    result.positions.append(Position(segment.number, offset + lo))
                    if len(result.records) >= wanted:
                        return result
    return result


def _starts_not_before(fd: int, segment: Segment, before_time: str) -> bool:
    """Whether the segment's first record is at or after ``before_time`` (so all of it is)."""
    line = read_line_at(fd, 0, MAX_RECORD_BYTES + 1)
    if not line:
        return False
    record = parse_line(line, segment, 0)
    return record is not None and record["timestamp"] >= before_time


def id_prefix(operation_id: str) -> bytes:
    """How a stored line holding this operation id begins (``operation_id`` is written first)."""
    return b'{"operation_id":' + orjson.dumps(operation_id) + b","


def locate(segments: Sequence[Segment], operation_id: str) -> tuple[Position | None, int]:
    """The newest line recording ``operation_id`` (a byte search backwards) and bytes scanned."""
    prefix = id_prefix(operation_id)
    scanned = 0
    for segment in reversed(segments):
        with open_segment(segment) as fd:
            if fd is None:
                continue
            for offset, data, begin in reverse_blocks(fd, complete_end(fd, segment.size)):
                scanned += len(data) - begin
                found = data.rfind(prefix, begin)
                while found > begin and data[found - 1] != 0x0A:  # only at a line start
                    found = data.rfind(prefix, begin, found)
                if found >= 0:
                    return Position(segment.number, offset + found), scanned
    return None, scanned


def starts_with(segment: Segment, position: Position, prefix: bytes) -> bool:
    """Whether the line at ``position`` still begins with ``prefix`` (a cached cursor is valid)."""
    with open_segment(segment) as fd:
        return fd is not None and os.pread(fd, len(prefix), position.offset) == prefix


def record_at(segment: Segment, position: Position) -> dict[str, Any] | None:
    with open_segment(segment) as fd:
        if fd is None:
            return None
        line = read_line_at(fd, position.offset, MAX_RECORD_BYTES + 1)
    return None if line is None else parse_line(line, segment, position.offset)
