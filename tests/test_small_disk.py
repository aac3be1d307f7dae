"""The disk-full helper: a real tmpfs that really fills, and a skip that says what is missing."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from tests.small_disk import small_disk


def test_a_filled_disk_refuses_a_new_file_and_a_freed_one_takes_it(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", size_bytes=256 * 1024) as disk:
        disk.fill()
        with pytest.raises(OSError) as caught:
            (disk.folder / "new").write_bytes(b"x" * 4096)
        assert caught.value.errno == errno.ENOSPC
        disk.free()
        (disk.folder / "new").write_bytes(b"x" * 4096)
    assert list((tmp_path / "disk").iterdir()) == []  # unmounted: the tmpfs files are gone


def test_without_mount_the_test_is_skipped_naming_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    with pytest.raises(pytest.skip.Exception) as skipped, small_disk(tmp_path / "disk"):
        raise AssertionError("ran without a small disk")
    assert "needs a real small filesystem" in str(skipped.value)
    assert "`mount` could not run (FileNotFoundError" in str(skipped.value)
    assert os.path.ismount(tmp_path / "disk") is False
