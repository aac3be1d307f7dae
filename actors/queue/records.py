"""The operation record of the contract, and the rules of its status."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from actors.timeutil import now_iso

OPERATION_TYPES = ("install", "update", "uninstall")
STAGES = (
    "queued",
    "resolving",
    "downloading",
    "verifying",
    "installing_dependencies",
    "activating",
    "removing",
    "done",
)
ACTIVE = frozenset({"pending", "running"})
TERMINAL = frozenset({"completed", "failed", "cancelled", "timed_out", "interrupted"})


def new_operation_id() -> str:
    return uuid.uuid4().hex


@dataclass(slots=True)
class Operation:
    """One install, update or uninstall, from the moment it is queued until long after it ends.

    ``lane`` serialises operations: the plugin id when known, else a key naming the source
    (an install from a URL learns its plugin id only from the manifest).
    """

    operation_type: str
    plugin_id: str | None
    parameters: dict[str, Any]
    lane: str
    operation_id: str = field(default_factory=new_operation_id)
    status: str = "pending"
    progress: float = 0.0
    stage: str = "queued"
    message: str = "Queued"
    error: dict[str, str] | None = None
    result: dict[str, Any] | None = None
    created_at: str = field(default_factory=now_iso)
    started_at: str | None = None
    completed_at: str | None = None
    user: str = "local"
    recorded: bool = False  # the history holds its final record (journal only)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def dedupe_key(self) -> tuple[str, str, str]:
        params = ",".join(f"{k}={self.parameters[k]!r}" for k in sorted(self.parameters))
        return (self.operation_type, self.lane, params)

    def to_dict(self, position: int | None = None) -> dict[str, Any]:
        """The record exactly as the contract shows it."""
        return {
            "operation_id": self.operation_id,
            "operation_type": self.operation_type,
            "plugin_id": self.plugin_id,
            "parameters": dict(self.parameters),
            "status": self.status,
            "progress": round(self.progress, 4),
            "stage": self.stage,
            "message": self.message,
            "error": dict(self.error) if self.error else None,
            "result": dict(self.result) if self.result is not None else None,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
            "position": position,
        }

    def to_journal(self) -> dict[str, Any]:
        record = self.to_dict()
        del record["position"]
        record["lane"] = self.lane
        record["user"] = self.user
        record["recorded"] = self.recorded
        return record

    @classmethod
    def from_journal(cls, record: dict[str, Any]) -> Operation:
        return cls(
            operation_type=record["operation_type"],
            plugin_id=record["plugin_id"],
            parameters=dict(record.get("parameters") or {}),
            lane=record.get("lane") or record["plugin_id"] or record["operation_id"],
            operation_id=record["operation_id"],
            status=record["status"],
            progress=float(record.get("progress") or 0.0),
            stage=record.get("stage") or "queued",
            message=record.get("message") or "",
            error=record.get("error"),
            result=record.get("result"),
            created_at=record["created_at"],
            started_at=record.get("started_at"),
            completed_at=record.get("completed_at"),
            user=record.get("user") or "local",
            recorded=record.get("recorded") is True,
        )
