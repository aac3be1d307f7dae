"""Reading the registry document only when it changed: conditional GETs, local file signatures."""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from actors.errors import ErrorCode, PlugvisorError
from actors.installer.blocking import run_blocking
from actors.installer.download import Validators, fetch_if_changed

MAX_REGISTRY_BYTES = 16 * 1024 * 1024
# File times may be as coarse as 2 s (FAT on an SD card): a file changed this close to the
# moment it was read may change again without its signature changing, so it is re-read.
RACY_WINDOW_NS = 2_000_000_000


@dataclass(frozen=True, slots=True)
class DocumentVersion:
    """What identifies the copy of the registry read last, to ask for it only if it changed."""

    digest: str  # sha256 of the bytes
    validators: Validators | None = None  # an HTTP registry's ETag / Last-Modified
    signature: tuple[int, int, int, int] | None = None  # a file's size, mtime, ctime, inode
    read_at_ns: int = 0  # wall clock just before a file was read


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RegistrySource:
    """An http(s) URL, a ``file://`` URL or a local path, read only when it changed."""

    def __init__(self, source: str, *, timeout_s: float, attempts: int, backoff_s: float) -> None:
        self.source = source
        scheme = urlsplit(source).scheme.lower()
        self.is_remote = scheme in ("http", "https")
        self.local_file = (
            None
            if self.is_remote
            else Path(unquote(urlsplit(source).path) if scheme == "file" else source)
        )
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.backoff_s = backoff_s

    async def read(self, known: DocumentVersion | None) -> tuple[bytes | None, DocumentVersion]:
        """The document's bytes and version; the bytes are None when unchanged since ``known``.

        An HTTP registry is asked with ``If-None-Match``/``If-Modified-Since`` (a 304 costs no
        body); a file is read again only when its signature changed (or may have), and its
        bytes count as changed only when their hash differs. ``NETWORK_ERROR``, ``TIMEOUT``.
        """
        if self.is_remote:
            return await self._read_remote(known)
        return await run_blocking(self._read_local, known)

    async def _read_remote(
        self, known: DocumentVersion | None
    ) -> tuple[bytes | None, DocumentVersion]:
        fetched = await fetch_if_changed(
            self.source,
            known.validators if known else None,
            timeout_s=self.timeout_s,
            max_bytes=MAX_REGISTRY_BYTES,
            attempts=self.attempts,
            backoff_s=self.backoff_s,
        )
        if fetched is None:  # 304 Not Modified
            assert known is not None
            return None, known
        data, validators = fetched
        version = DocumentVersion(await run_blocking(_digest, data), validators=validators)
        unchanged = known is not None and known.digest == version.digest
        return (None if unchanged else data), version

    def _read_local(self, known: DocumentVersion | None) -> tuple[bytes | None, DocumentVersion]:
        assert self.local_file is not None
        read_at_ns = time.time_ns()
        try:
            info = self.local_file.stat()
            signature = (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)
            if known is not None and known.signature == signature and not _racy(info, known):
                return None, known
            if info.st_size > MAX_REGISTRY_BYTES:
                raise PlugvisorError(
                    ErrorCode.NETWORK_ERROR, "The plugin registry file is too large"
                )
            data = self.local_file.read_bytes()
        except OSError:
            raise PlugvisorError(
                ErrorCode.NETWORK_ERROR, "The plugin registry file cannot be read"
            ) from None
        version = DocumentVersion(_digest(data), signature=signature, read_at_ns=read_at_ns)
        unchanged = known is not None and known.digest == version.digest
        return (None if unchanged else data), version


def _racy(info: os.stat_result, known: DocumentVersion) -> bool:
    """True when the file was modified so close to the last read that a later change could
    have kept the same times."""
    return max(info.st_mtime_ns, info.st_ctime_ns) >= known.read_at_ns - RACY_WINDOW_NS
