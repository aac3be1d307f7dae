"""What every supervised actor reports: status, restarts, last error, mailbox depth, processed."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

_ERROR_LIMIT = 200


class Status(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ActorStats:
    """One actor's numbers; ``name`` is its path in the tree, e.g. ``root/config_store``."""

    name: str
    status: str
    restarts: int
    last_error: str | None
    last_restart_at: str | None
    mailbox_depth: int
    processed: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def utc_now_iso() -> str:
    """Now as ISO 8601 UTC with milliseconds and a ``Z`` (``2026-11-26T10:12:32.123Z``)."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def short_error(error: BaseException | None) -> str:
    """A one-line, bounded description of an error: its type name and message."""
    if error is None:
        return "unknown error"
    text = str(error)
    line = f"{type(error).__name__}: {text}" if text else type(error).__name__
    line = " ".join(line.split())
    return line if len(line) <= _ERROR_LIMIT else line[: _ERROR_LIMIT - 1] + "…"
