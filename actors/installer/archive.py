"""Safe extraction of .zip and .tar.gz plugin archives, member by member, limits counted live."""

from __future__ import annotations

import errno
import os
import stat
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from actors.errors import ErrorCode, PlugvisorError
from actors.installer.blocking import check

MiB = 1024 * 1024
CHUNK = 256 * 1024


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """Bounds on what one plugin may bring; the sizes are counted while bytes are written."""

    max_archive_bytes: int = 50 * MiB  # the downloaded or uploaded file itself
    max_total_bytes: int = 200 * MiB  # everything extracted (or cloned), together
    max_file_bytes: int = 100 * MiB  # any one file
    max_files: int = 10_000  # files and folders
    max_path_length: int = 512
    max_depth: int = 32


def refuse(message: str, **context: object) -> PlugvisorError:
    return PlugvisorError(ErrorCode.INVALID_INPUT, f"Archive refused: {message}", context=context)


def archive_kind(path: Path) -> str:
    """``"zip"`` or ``"tar.gz"`` by the file's first bytes (never by its name)."""
    with path.open("rb") as handle:
        head = handle.read(4)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if head[:2] == b"\x1f\x8b":
        return "tar.gz"
    raise refuse("it is neither a .zip nor a .tar.gz file")


def member_path(name: str, limits: ArchiveLimits) -> PurePosixPath | None:
    """The safe relative path of a member (``None`` for the root entry); refuses the rest."""
    shown = name[:100]
    if "\x00" in name or "\\" in name:
        raise refuse(f"member {shown!r} has a forbidden character", member=shown)
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        tail = name.rstrip("/").rsplit("/", 1)[-1][:60]
        raise refuse(f"member '…/{tail}' has an absolute path")
    if len(name) > limits.max_path_length:
        raise refuse(f"member {shown!r}… has a path longer than {limits.max_path_length}")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise refuse(f"member {shown!r} points outside the archive folder", member=shown)
    if len(parts) > limits.max_depth:
        raise refuse(f"member {shown!r} is nested deeper than {limits.max_depth}", member=shown)
    return PurePosixPath(*parts) if parts else None


class _Budget:
    """Counts files and bytes against the limits; raises as soon as one is crossed."""

    def __init__(self, limits: ArchiveLimits, cancel: threading.Event | None) -> None:
        self.limits = limits
        self.cancel = cancel
        self.files = 0
        self.total = 0

    def add_entry(self) -> None:
        self.files += 1
        if self.files > self.limits.max_files:
            raise refuse(f"it holds more than {self.limits.max_files} entries", limit="max_files")

    def add_bytes(self, count: int, so_far: int, name: PurePosixPath) -> None:
        check(self.cancel)
        self.total += count
        if so_far > self.limits.max_file_bytes:
            raise refuse(
                f"member '{name}' is larger than {self.limits.max_file_bytes // MiB} MiB unpacked",
                limit="max_file_bytes",
            )
        if self.total > self.limits.max_total_bytes:
            raise refuse(
                f"its contents are larger than {self.limits.max_total_bytes // MiB} MiB unpacked",
                limit="max_total_bytes",
            )


def _make_dirs(dest: Path, relative: PurePosixPath) -> Path:
    target = dest.joinpath(*relative.parts)
    try:
        target.mkdir(mode=0o755, parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise refuse(f"member '{relative}' clashes with a file of the same name") from None
    if target.is_symlink() or not target.is_dir():
        raise refuse(f"member '{relative}' clashes with a file of the same name")
    return target


def _write_member(
    dest: Path, relative: PurePosixPath, source: IO[bytes], executable: bool, budget: _Budget
) -> None:
    parent = _make_dirs(dest, relative.parent) if relative.parent.parts else dest
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(parent / relative.name, flags, 0o755 if executable else 0o644)
    except FileExistsError:
        raise refuse(f"member '{relative}' appears twice or clashes with a folder") from None
    except OSError as exc:
        if exc.errno in (errno.EISDIR, errno.ELOOP):
            raise refuse(f"member '{relative}' clashes with a folder") from None
        raise
    written = 0
    with os.fdopen(fd, "wb") as out:
        while chunk := source.read(CHUNK):
            written += len(chunk)
            budget.add_bytes(len(chunk), written, relative)
            out.write(chunk)


@contextmanager
def _corrupt_as_refusal(kind: str) -> Iterator[None]:
    import tarfile  # here and below: loaded by the first archive, not at start
    import zipfile

    try:
        yield
    except (
        zipfile.BadZipFile,
        tarfile.TarError,
        zlib.error,
        EOFError,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        raise refuse(f"the {kind} file is damaged or unsupported ({type(exc).__name__})") from None
    except OSError as exc:
        if exc.errno is None:  # zlib/gzip decoding errors surface as bare OSErrors
            raise refuse(f"the {kind} file is damaged ({exc})") from None
        raise


def _extract_zip(archive: Path, dest: Path, budget: _Budget) -> None:
    import zipfile

    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        if len(infos) > budget.limits.max_files:
            raise refuse(f"it holds more than {budget.limits.max_files} entries", limit="max_files")
        for info in infos:
            check(budget.cancel)
            relative = member_path(info.filename, budget.limits)
            mode = (info.external_attr >> 16) & 0xFFFF if info.create_system == 3 else 0
            kind = stat.S_IFMT(mode)
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                what = "a link" if kind == stat.S_IFLNK else "a special file"
                raise refuse(
                    f"member '{info.filename[:100]}' is {what}", member=info.filename[:100]
                )
            if info.flag_bits & 0x1:
                raise refuse(f"member '{info.filename[:100]}' is encrypted")
            budget.add_entry()
            if relative is None:
                continue
            if info.is_dir() or kind == stat.S_IFDIR:
                _make_dirs(dest, relative)
                continue
            with zf.open(info) as source:
                _write_member(dest, relative, source, bool(mode & 0o111), budget)


def _extract_tar(archive: Path, dest: Path, budget: _Budget) -> None:
    import tarfile

    with tarfile.open(archive, mode="r:gz") as tf:
        for member in tf:
            check(budget.cancel)
            budget.add_entry()
            relative = member_path(member.name, budget.limits)
            if member.issym() or member.islnk():
                raise refuse(f"member '{member.name[:100]}' is a link", member=member.name[:100])
            if not (member.isreg() or member.isdir()):
                raise refuse(
                    f"member '{member.name[:100]}' is a special file", member=member.name[:100]
                )
            if relative is None:
                continue
            if member.isdir():
                _make_dirs(dest, relative)
                continue
            source = tf.extractfile(member)
            if source is None:
                raise refuse(f"member '{member.name[:100]}' cannot be read")
            with source:
                _write_member(dest, relative, source, bool(member.mode & 0o111), budget)


def extract_archive(
    archive: Path, dest: Path, limits: ArchiveLimits, cancel: threading.Event | None = None
) -> int:
    """Extract ``archive`` into the empty folder ``dest``; return the number of entries.

    Blocking. Refuses (``INVALID_INPUT``) absolute or ``..`` paths, links of any kind, device
    and fifo files, duplicates, encrypted members, and anything past ``limits``. On refusal
    ``dest`` may hold partial output: the caller removes its staging folder.
    """
    if archive.stat().st_size > limits.max_archive_bytes:
        raise refuse(
            f"it is larger than {limits.max_archive_bytes // MiB} MiB", limit="max_archive_bytes"
        )
    kind = archive_kind(archive)
    budget = _Budget(limits, cancel)
    with _corrupt_as_refusal(kind):
        if kind == "zip":
            _extract_zip(archive, dest, budget)
        else:
            _extract_tar(archive, dest, budget)
    return budget.files
