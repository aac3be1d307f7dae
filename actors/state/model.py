"""A plugin's state (shared/API.md) composed from its homes: disk, config, and what was observed.

Nothing here is a user's decision: ``enabled`` is the config's, version and times are the
install record's, and only the observations (last operation, last error) are the state's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actors.state.disk import DiskPlugin

STATUSES = frozenset({"installed", "enabled", "disabled", "error", "unknown"})
HEALTH = frozenset({"healthy", "degraded", "unhealthy", "unknown"})
MAX_ERROR_CHARS = 2000


@dataclass(slots=True)
class Observed:
    """What only the state knows, persisted in ``state/plugin_state.json``."""

    last_operation_id: str | None = None
    last_error: dict[str, Any] | None = None  # {message, operation_id, since}

    def to_dict(self) -> dict[str, Any]:
        return {"last_operation_id": self.last_operation_id, "last_error": self.last_error}

    @classmethod
    def from_dict(cls, data: Any) -> Observed:
        """Parse a stored entry; raises ``ValueError`` naming what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("entry is not an object")
        operation_id = data.get("last_operation_id")
        error = data.get("last_error")
        if operation_id is not None and not isinstance(operation_id, str):
            raise ValueError("invalid fields: last_operation_id")
        if error is not None and not (
            isinstance(error, dict) and isinstance(error.get("message"), str)
        ):
            raise ValueError("invalid fields: last_error")
        return cls(operation_id, error)


def status_of(disk: DiskPlugin, enabled: bool | None) -> str:
    """``error`` for an unusable manifest, else as the config says (``installed``: no section)."""
    if disk.error is not None:
        return "error"
    if enabled is None:
        return "installed"
    return "enabled" if enabled else "disabled"


def compose(
    disk: DiskPlugin,
    enabled: bool | None,
    config_version: int,
    observed: Observed,
    health: str = "unknown",
) -> dict[str, Any]:
    """The state in the contract's shape; a new dict each time (callers must not edit it)."""
    record = disk.record
    manifest = disk.manifest or {}
    metadata: dict[str, Any] = {
        "source": record.source.public() if record else {"type": "discovered"},
        "configured": enabled is not None,
    }
    if disk.error is not None:
        metadata["manifest_error"] = {"message": disk.error}
    if observed.last_error is not None:
        metadata["last_error"] = dict(observed.last_error)
    return {
        "plugin_id": disk.plugin_id,
        "status": status_of(disk, enabled),
        "enabled": enabled is True,
        "version": record.version if record else manifest.get("version"),
        "installed_at": record.installed_at if record else None,
        "last_updated": record.last_updated if record else None,
        "config_version": config_version,
        "last_operation_id": observed.last_operation_id
        or (record.operation_id if record else None),
        "health": health,
        "metadata": metadata,
    }
