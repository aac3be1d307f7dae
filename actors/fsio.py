"""Durable file writes: temp file beside the target, mode first, write, fsync, rename, fsync folder.

A crash at any moment leaves either the old file or the new one, never a torn one.
Blocking by design: actors call these through ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import time
from pathlib import Path
from typing import Any

import orjson

from actors.errors import ErrorCode, PlugvisorError

_temp_counter = itertools.count()  # only makes temp names unique; holds no state worth resetting

TEMP_MARKER = ".tmp."


class Syncer:
    """Performs every fsync of one owner, so tests can count them and benchmarks can slow them.

    ``delay_s`` adds a sleep after each fsync to imitate an SD card (5-50 ms per sync).
    """

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.count = 0

    def fsync(self, fd: int) -> None:
        os.fsync(fd)
        self.count += 1
        if self.delay_s:
            time.sleep(self.delay_s)

    def fsync_dir(self, folder: Path) -> None:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            self.fsync(fd)
        finally:
            os.close(fd)


def temp_path_for(path: Path) -> Path:
    return path.with_name(f".{path.name}{TEMP_MARKER}{os.getpid()}.{next(_temp_counter)}")


def write_temp(path: Path, data: bytes, mode: int, syncer: Syncer) -> Path:
    """Write ``data`` to a fresh temp file beside ``path`` and fsync it; return the temp path.

    The file is created with ``mode`` (umask overridden) before any byte is written.
    On failure the temp file is removed and the error re-raised.
    """
    temp = temp_path_for(path)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        syncer.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    os.close(fd)
    return temp


def atomic_write(
    path: Path, data: bytes, *, mode: int = 0o644, syncer: Syncer | None = None
) -> None:
    """Replace ``path`` with ``data`` durably: after return the new content survives a power cut."""
    syncer = syncer or Syncer()
    temp = write_temp(path, data, mode, syncer)
    try:
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    syncer.fsync_dir(path.parent)


def remove_stale_temps(folder: Path) -> int:
    """Delete temp files a crash left behind in ``folder``; return how many."""
    removed = 0
    if not folder.is_dir():
        return 0
    for entry in folder.iterdir():
        if entry.name.startswith(".") and TEMP_MARKER in entry.name and entry.is_file():
            with contextlib.suppress(OSError):
                entry.unlink()
                removed += 1
    return removed


def dumps(value: Any) -> bytes:
    """JSON as written to disk: indented for people, newline-terminated."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def storage_error(exc: OSError, code: ErrorCode, what: str) -> PlugvisorError:
    """Translate an OSError into a safe, structured error (disk full gets its own code)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return PlugvisorError(
            ErrorCode.INSUFFICIENT_STORAGE,
            f"Not enough free space to {what}",
            suggested_fixes=["Free space on the device's data partition and try again"],
        )
    reason = os.strerror(exc.errno) if exc.errno else type(exc).__name__
    return PlugvisorError(code, f"Could not {what}: {reason}")
