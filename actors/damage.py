"""Damaged files under the data dir: renamed aside (never deleted) and reported, never fatal.

A file the process reads at start that is a folder, unreadable or garbage must not stop it:
systemd would restart it into the same file forever. Its owner sets it aside as
``<name>.damaged-<UTC time>`` and records a health reason saying what was lost.
"""

from __future__ import annotations

import os
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path

import structlog

from actors.fsio import Syncer
from actors.health_reasons import HealthReason
from actors.timeutil import now_iso

log = structlog.get_logger(__name__)

DAMAGED = "damaged"
REASON_CODE = "damaged_file_set_aside"
_MAX_SAME_SECOND = 1000  # set-asides of one name within one second before giving up


def _examine(path: Path) -> os.stat_result | str | None:
    """``path``'s status, why it cannot be examined, or None when it is absent."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be examined ({exc.strerror})"


def unusable_file(path: Path) -> str | None:
    """Why ``path`` cannot be read as a regular file, or None (also None when it is absent)."""
    info = _examine(path)
    if not isinstance(info, os.stat_result):
        return info
    if stat.S_ISDIR(info.st_mode):
        return "is a folder where a file should be"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file"
    if not os.access(path, os.R_OK):
        return "cannot be read (permission denied)"
    return None


def unusable_folder(path: Path) -> str | None:
    """Why ``path`` cannot serve as a folder, or None (also None when it is absent)."""
    info = _examine(path)
    if not isinstance(info, os.stat_result):
        return info
    if not stat.S_ISDIR(info.st_mode):
        return "is a file where a folder should be"
    return None


def set_aside(path: Path, label: str = DAMAGED, syncer: Syncer | None = None) -> Path | None:
    """Rename ``path`` (a file, a folder, anything) to ``<name>.<label>-<UTC time>`` beside it.

    Durable on return (the folder is fsynced). ``None`` when there was nothing to set aside.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for attempt in range(1, _MAX_SAME_SECOND + 1):
        suffix = f".{label}-{stamp}" if attempt == 1 else f".{label}-{stamp}-{attempt}"
        target = path.with_name(path.name + suffix)
        if not os.path.lexists(target):
            break
    else:
        raise FileExistsError(f"too many set-aside copies of {path.name} this second")
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None
    (syncer or Syncer()).fsync_dir(path.parent)
    return target


def shown(path: Path, root: Path | None) -> str:
    """``path`` as a person reads it in a reason: relative to the data dir, never absolute."""
    if root is not None and path.is_relative_to(root):
        return path.relative_to(root).as_posix()
    return f"{path.parent.name}/{path.name}"


def damaged_reason(
    path: Path, aside: Path, *, why: str, lost: str, root: Path | None = None
) -> HealthReason:
    """The health reason for one item set aside: what, why, where it went, what was lost."""
    name = shown(path, root)
    return HealthReason(
        code=REASON_CODE,
        message=f"{name} was damaged and has been set aside; the service runs without it",
        since=now_iso(),
        detail=f"{name} {why}; it was renamed to {aside.name}. Lost: {lost}",
        remediation=f"Look into {shown(aside, root)} if you need what it held, then delete it",
    )


class Damage:
    """Everything set aside since start, as health reasons; one per process, shared, thread-safe."""

    def __init__(self, root: Path | None = None, syncer: Syncer | None = None) -> None:
        self.root = root
        self._syncer = syncer
        self._lock = threading.Lock()
        self._reasons: list[HealthReason] = []

    def set_aside(self, path: Path, *, why: str, lost: str) -> Path | None:
        """Rename ``path`` aside and report it; ``None`` if it vanished in the meantime."""
        aside = set_aside(path, DAMAGED, self._syncer)
        if aside is None:
            return None
        log.error("damaged_file_set_aside", file=shown(path, self.root), why=why, aside=aside.name)
        self.add(damaged_reason(path, aside, why=why, lost=lost, root=self.root))
        return aside

    def add(self, reason: HealthReason) -> None:
        with self._lock:
            self._reasons.append(reason)

    def reasons(self) -> list[HealthReason]:
        with self._lock:
            return list(self._reasons)
