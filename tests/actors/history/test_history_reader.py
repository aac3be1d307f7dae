"""The reverse line reader: whole lines only, last first, any block size, long lines."""

from __future__ import annotations

import os
from pathlib import Path

from actors.history.reader import (
    complete_end,
    lines_reverse,
    matching_lines_reverse,
    read_line_at,
    reverse_blocks,
)


def _lines_backwards(path: Path, first: int, largest: int) -> list[bytes]:
    fd = os.open(path, os.O_RDONLY)
    try:
        out = []
        end = complete_end(fd, os.fstat(fd).st_size)
        for _offset, data, begin in reverse_blocks(fd, end, first=first, largest=largest):
            out.extend(data[lo:hi] for lo, hi in lines_reverse(data, begin))
        return out
    finally:
        os.close(fd)


def test_every_line_once_last_first_for_any_block_size(tmp_path: Path) -> None:
    lines = [(b"x" * (i % 37)) + str(i).encode() for i in range(500)]
    lines[250] = b"y" * 5000  # longer than the small blocks below
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    for first, largest in ((7, 7), (16, 64), (4096, 1 << 20)):
        assert _lines_backwards(path, first, largest) == lines[::-1]


def test_torn_tail_is_left_out(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"one\ntwo\nthr")
    fd = os.open(path, os.O_RDONLY)
    try:
        assert complete_end(fd, 11) == 8
        assert complete_end(fd, 8) == 8
        assert complete_end(fd, 0) == 0
    finally:
        os.close(fd)
    assert _lines_backwards(path, 4, 4) == [b"two", b"one"]
    path.write_bytes(b"no newline at all")
    assert _lines_backwards(path, 4, 4) == []


def test_matching_lines_and_empty_lines() -> None:
    data = b"partial\na-1\nb-2\n\na-3\n"
    begin = 8  # data[begin:] starts on a line
    assert [data[lo:hi] for lo, hi in lines_reverse(data, begin)] == [b"a-3", b"b-2", b"a-1"]
    assert [data[lo:hi] for lo, hi in matching_lines_reverse(data, begin, b"a-")] == [
        b"a-3",
        b"a-1",
    ]
    assert list(matching_lines_reverse(data, begin, b"partial")) == []


def test_read_line_at(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"abc\ndef\nunterminated")
    fd = os.open(path, os.O_RDONLY)
    try:
        assert read_line_at(fd, 4, 100) == b"def"
        assert read_line_at(fd, 8, 100) is None
        assert read_line_at(fd, 0, 2) is None
    finally:
        os.close(fd)
