"""config/backups/: one backup per commit, ``<ns>-<generation>``, hard-linked with its twin."""

from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from actors.fsio import Syncer, remove_stale_temps, write_temp
from actors.timeutil import iso

BACKUP_ID = re.compile(r"^(\d{1,20})-(\d{1,12})$")
_FILE = re.compile(r"^(\d{1,20}-\d{1,12})\.json$")


@dataclass(frozen=True, slots=True)
class BackupInfo:
    backup_id: str
    created_at: str
    size: int
    valid: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sort_key(backup_id: str) -> tuple[int, int]:
    ns, gen = backup_id.split("-")
    return int(ns), int(gen)


def created_at(backup_id: str) -> str:
    ns = sort_key(backup_id)[0]
    return iso(datetime.fromtimestamp(ns / 1e9, UTC))


class Backups:
    def __init__(self, folder: Path, syncer: Syncer) -> None:
        self.folder = folder
        self._syncer = syncer
        self._last_ns = 0

    def prepare(self) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        remove_stale_temps(self.folder)
        ids = self.ids()
        if ids:  # a device without a clock may boot "before" its newest backup
            self._last_ns = max(self._last_ns, sort_key(ids[0])[0])

    def ids(self) -> list[str]:
        """Every backup id, newest first."""
        found = []
        with contextlib.suppress(FileNotFoundError):
            for name in os.listdir(self.folder):
                match = _FILE.match(name)
                if match:
                    found.append(match.group(1))
        return sorted(found, key=sort_key, reverse=True)

    def paths(self, backup_id: str) -> tuple[Path, Path]:
        return self.folder / f"{backup_id}.json", self.folder / f"{backup_id}.secrets.json"

    def new_id(self, generation: int) -> str:
        """Unique and ordered even for saves in the same nanosecond or a clock that went back."""
        ns = max(time.time_ns(), self._last_ns + 1)
        self._last_ns = ns
        return f"{ns}-{generation}"

    def link(self, backup_id: str, config: Path, secrets: Path | None) -> list[Path]:
        """Back up the live files as ``backup_id``; returns what was created (not yet fsynced)."""
        created: list[Path] = []
        try:
            for source, target in zip((config, secrets), self.paths(backup_id), strict=True):
                if source is not None:
                    _link_or_copy(source, target, self._syncer)
                    created.append(target)
        except BaseException:
            self.discard(created)
            raise
        return created

    def write(self, backup_id: str, config: bytes, secrets: bytes | None) -> list[Path]:
        """Back up from memory (when the live files cannot be trusted after a failed commit)."""
        created: list[Path] = []
        try:
            for data, target, mode in zip(
                (config, secrets), self.paths(backup_id), (0o644, 0o600), strict=True
            ):
                if data is not None:
                    os.replace(write_temp(target, data, mode, self._syncer), target)
                    created.append(target)
        except BaseException:
            self.discard(created)
            raise
        return created

    def sync(self) -> None:
        self._syncer.fsync_dir(self.folder)

    def rotate(self, keep: int) -> list[str]:
        removed = self.ids()[max(keep, 1) :]
        for backup_id in removed:
            self.discard(self.paths(backup_id))
        return removed

    @staticmethod
    def discard(paths: Any) -> None:
        for path in paths:
            with contextlib.suppress(OSError):
                os.unlink(path)

    def size(self, backup_id: str) -> int:
        total = 0
        for path in self.paths(backup_id):
            with contextlib.suppress(OSError):
                total += path.stat().st_size
        return total


def _link_or_copy(source: Path, target: Path, syncer: Syncer) -> None:
    try:
        os.link(source, target)
    except FileExistsError:
        raise
    except OSError:  # a filesystem without hard links: copy durably instead
        data = source.read_bytes()
        mode = source.stat().st_mode & 0o777
        os.replace(write_temp(target, data, mode, syncer), target)
