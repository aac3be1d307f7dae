"""A real small filesystem for disk-full tests: a tmpfs mounted for the test and filled on demand.

Never a patched fsync instead: a test that cannot mount one is skipped, saying what is missing.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

FILLER = "filler"
CHUNKS = (65536, 4096, 1)  # large writes first, then whatever is left, to the last byte


class SmallDisk:
    """A mounted tmpfs: :meth:`fill` takes every free byte, :meth:`free` gives them back."""

    def __init__(self, folder: Path, size_bytes: int) -> None:
        self.folder = folder
        self.size_bytes = size_bytes

    def fill(self) -> None:
        """Write a filler file until the filesystem answers ENOSPC (and prove that it did)."""
        written = 0
        fd = os.open(self.folder / FILLER, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for chunk in CHUNKS:
                block = b"\0" * chunk
                for _ in range(self.size_bytes // chunk + 1):
                    try:
                        written += os.write(fd, block)
                    except OSError as exc:
                        assert exc.errno == errno.ENOSPC, exc
                        break
                else:
                    raise AssertionError(f"{self.folder} took more than its size without ENOSPC")
        finally:
            os.close(fd)
        assert written > 0, f"{self.folder} was already full"

    def free(self) -> None:
        (self.folder / FILLER).unlink(missing_ok=True)


def _mount_failure(folder: Path, size_bytes: int) -> str | None:
    """Mount a tmpfs of ``size_bytes`` on ``folder``; why it could not be done, or ``None``."""
    command = ["mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0700", "tmpfs", str(folder)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`mount` could not run ({type(exc).__name__}: {exc})"
    if done.returncode != 0:
        return f"`mount -t tmpfs` failed: {done.stderr.strip() or done.returncode}"
    return None


@contextlib.contextmanager
def small_disk(folder: Path, size_bytes: int = 512 * 1024) -> Iterator[SmallDisk]:
    """A tmpfs of ``size_bytes`` mounted on ``folder`` for the duration; skips the test, naming
    what is missing, when this process may not mount one (it needs root, or CAP_SYS_ADMIN)."""
    folder.mkdir(parents=True, exist_ok=True)
    failure = _mount_failure(folder, size_bytes)
    if failure is not None:
        pytest.skip(f"needs a real small filesystem (a tmpfs mounted by the test): {failure}")
    try:
        yield SmallDisk(folder, size_bytes)
    finally:
        # Lazy: a file a stopped actor has not closed yet must not leave the mount behind.
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30, check=False)
