"""One group commit's bookkeeping: each save taken from the mailbox, its fate, its event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actors.errors import PlugvisorError

from .apply import View
from .commit import Snapshot
from .messages import (
    DropPluginConfig,
    EnsurePluginEntry,
    RestoreBackup,
    SaveMainConfig,
    SavePluginConfig,
    SaveResult,
    SaveSchedule,
    SetPluginEnabled,
)
from .validation import Checker

KINDS: dict[type, str] = {
    SavePluginConfig: "configure",
    SaveMainConfig: "config_main",
    SaveSchedule: "config_schedule",
    RestoreBackup: "config_restore",
    EnsurePluginEntry: "config_ensure",
    DropPluginConfig: "config_drop",
}
_QUIET_NO_OPS = (EnsurePluginEntry, DropPluginConfig)  # nothing to report when nothing changed


@dataclass(slots=True)
class Item:
    """One save of a batch: its message, its reply handle (None for the handler's own), its fate."""

    msg: Any
    envelope: Any = None
    checker: Checker | None = None
    backup: Snapshot | None = None
    error: PlugvisorError | None = None
    rejected: bool = False  # refused at the boundary (bad id, not installed): no event
    applied: bool = False
    changed: bool = False
    generation: int = 0  # the config generation that includes this save
    view: View = (None, None)
    result: SaveResult | None = None
    # The plugins whose `enabled` this save changed: {plugin_id: flag}, None for a removed
    # section; schema defaults resolved once the save is durable (see flags.py).
    enabled: dict[str, Any] | None = None

    @property
    def kind(self) -> str:
        if isinstance(self.msg, SetPluginEnabled):
            return "enable" if self.msg.enabled else "disable"
        return KINDS[type(self.msg)]

    @property
    def dry_run(self) -> bool:
        return bool(getattr(self.msg, "dry_run", False))

    def event(self, generation: int) -> dict[str, Any] | None:
        """The ``config`` event for this save (failures too); None when there is nothing to say."""
        if self.rejected or self.dry_run:
            return None
        if self.error is None and not self.changed and isinstance(self.msg, _QUIET_NO_OPS):
            return None
        error = None
        if self.error is not None:
            error = {"error_code": self.error.code.value, "message": self.error.message}
        event = {
            "kind": self.kind,
            "plugin_id": getattr(self.msg, "plugin_id", None),
            "generation": generation,
            "backup_id": self.result.backup_id if self.result else None,
            "status": "completed" if error is None else "failed",
            "error": error,
            "user": self.msg.user,
        }
        if error is None and self.enabled:
            event["enabled"] = dict(self.enabled)
        return event

    def answer(self) -> None:
        """Reply to a drained ask (the handler's own message is answered by returning)."""
        if self.error is not None:
            self.envelope.fail(self.error)
        else:
            self.envelope.reply(self.result)
