"""Reading JSON Lines files backwards in bounded blocks: a query holds one block, never a file."""

from __future__ import annotations

import os
from collections.abc import Iterator

NEWLINE = 0x0A
FIRST_BLOCK = 64 * 1024
MAX_BLOCK = 1024 * 1024


def complete_end(fd: int, size: int) -> int:
    """Offset just past the last newline before ``size``: anything beyond it is a torn line."""
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    hi = size
    step = 4096
    while hi > 0:
        lo = max(0, hi - step)
        cut = os.pread(fd, hi - lo, lo).rfind(b"\n")
        if cut >= 0:
            return lo + cut + 1
        hi = lo
        step = min(step * 2, MAX_BLOCK)
    return 0


def reverse_blocks(
    fd: int, end: int, *, first: int = FIRST_BLOCK, largest: int = MAX_BLOCK
) -> Iterator[tuple[int, bytes, int]]:
    """Yield ``(offset, data, begin)`` from ``end`` back to the file's start.

    ``data[begin:]`` holds only whole lines and starts at file offset ``offset + begin``;
    ``end`` must be a line boundary. Blocks grow from ``first`` to ``largest`` bytes
    (further only while a single line is longer).
    """
    hi = end
    size = first
    while hi > 0:
        lo = max(0, hi - size)
        data = os.pread(fd, hi - lo, lo)
        if len(data) < hi - lo:  # the file shrank under us: nothing more to trust
            return
        begin = 0
        if lo > 0:
            cut = data.find(b"\n", 0, len(data) - 1)  # data ends with the newline of its last line
            if cut < 0:  # one line longer than the block: read more at once
                size *= 2
                continue
            begin = cut + 1
        yield lo, data, begin
        hi = lo + begin
        size = min(max(size * 2, first), largest)


def lines_reverse(data: bytes, begin: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of every non-empty line in ``data[begin:]``, last line first."""
    hi = len(data) - 1  # the newline that ends the current line
    while hi >= begin:
        found = data.rfind(b"\n", begin, hi)
        lo = found + 1 if found >= 0 else begin
        if hi > lo:
            yield lo, hi
        hi = lo - 1


def matching_lines_reverse(data: bytes, begin: int, pattern: bytes) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of the lines in ``data[begin:]`` that contain ``pattern``, last first."""
    end = len(data)
    while True:
        found = data.rfind(pattern, begin, end)
        if found < 0:
            return
        newline = data.rfind(b"\n", begin, found)
        lo = newline + 1 if newline >= 0 else begin
        hi = data.find(b"\n", found)
        yield lo, (hi if hi >= 0 else len(data))
        end = lo


def read_line_at(fd: int, offset: int, limit: int) -> bytes | None:
    """The line at ``offset`` without its newline; ``None`` if unterminated within ``limit``."""
    data = os.pread(fd, limit, offset)
    cut = data.find(b"\n")
    return data[:cut] if cut >= 0 else None
