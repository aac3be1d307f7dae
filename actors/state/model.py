"""Plugin state (shared/API.md) and its transitions; error and missing markers live in ``metadata``.

``status`` is derived: ``unknown`` while ``metadata.missing_on_disk`` is set, ``error`` while
``metadata.manifest_error`` or ``metadata.last_error`` is set, else the base status
(``installed``, ``enabled`` or ``disabled``), which a marker keeps as ``previous_status``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

STATUSES = frozenset({"installed", "enabled", "disabled", "error", "unknown"})
BASE_STATUSES = frozenset({"installed", "enabled", "disabled"})
HEALTH = frozenset({"healthy", "degraded", "unhealthy", "unknown"})
MISSING = "missing_on_disk"
ERROR_MARKERS = ("manifest_error", "last_error")
MARKERS = (MISSING, *ERROR_MARKERS)


@dataclass(slots=True)
class PluginState:
    plugin_id: str
    status: str = "installed"
    enabled: bool = False
    version: str | None = None
    installed_at: str | None = None
    last_updated: str | None = None
    config_version: int = 1
    last_operation_id: str | None = None
    health: str = "unknown"
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A deep copy in the contract's shape: callers never share our objects."""
        return {
            "plugin_id": self.plugin_id,
            "status": self.status,
            "enabled": self.enabled,
            "version": self.version,
            "installed_at": self.installed_at,
            "last_updated": self.last_updated,
            "config_version": self.config_version,
            "last_operation_id": self.last_operation_id,
            "health": self.health,
            "metadata": copy.deepcopy(self.metadata),
        }

    def copy(self) -> PluginState:
        return PluginState(**self.to_dict())

    @classmethod
    def from_dict(cls, plugin_id: str, data: Any) -> PluginState:
        """Parse a stored entry; raises ``ValueError`` naming what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("entry is not an object")
        checks = (
            ("status", data.get("status") in STATUSES),
            ("enabled", isinstance(data.get("enabled"), bool)),
            ("config_version", _is_int(data.get("config_version"))),
            ("health", data.get("health", "unknown") in HEALTH),
            ("metadata", isinstance(data.get("metadata", {}), dict)),
        )
        for name in ("version", "installed_at", "last_updated", "last_operation_id"):
            checks += ((name, data.get(name) is None or isinstance(data.get(name), str)),)
        bad = [name for name, ok in checks if not ok]
        if bad or data.get("plugin_id", plugin_id) != plugin_id:
            raise ValueError(f"invalid fields: {', '.join(bad) or 'plugin_id'}")
        return cls(
            plugin_id=plugin_id,
            status=data["status"],
            enabled=data["enabled"],
            version=data.get("version"),
            installed_at=data.get("installed_at"),
            last_updated=data.get("last_updated"),
            config_version=data["config_version"],
            last_operation_id=data.get("last_operation_id"),
            health="unknown",  # health is runtime knowledge: it starts unknown after a restart
            metadata=data.get("metadata", {}),
        )

    # -- status and markers ----------------------------------------------------------------

    def base_status(self) -> str:
        for key in MARKERS:
            marker = self.metadata.get(key)
            if isinstance(marker, dict) and marker.get("previous_status") in BASE_STATUSES:
                return marker["previous_status"]
        return self.status if self.status in BASE_STATUSES else "installed"

    def set_base_status(self, status: str) -> None:
        for key in MARKERS:
            if isinstance(self.metadata.get(key), dict):
                self.metadata[key]["previous_status"] = status
        self._derive(status)

    def mark(self, key: str, info: dict[str, Any]) -> None:
        """Set a marker (``missing_on_disk``, ``manifest_error``, ``last_error``), keep the base."""
        base = self.base_status()
        self.metadata[key] = {**info, "previous_status": base}
        self._derive(base)

    def unmark(self, *keys: str) -> bool:
        """Drop markers; returns whether any was set."""
        base = self.base_status()
        dropped = [self.metadata.pop(key) for key in keys if key in self.metadata]
        self._derive(base)
        return bool(dropped)

    def _derive(self, base: str) -> None:
        if MISSING in self.metadata:
            self.status = "unknown"
        elif any(key in self.metadata for key in ERROR_MARKERS):
            self.status = "error"
        else:
            self.status = base


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
