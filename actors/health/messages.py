"""The health actor's question and its answer: the supervisor's health, as data."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from actors.health_reasons import HealthReason


@dataclass(frozen=True, slots=True)
class GetSupervisorHealth:
    """Ask the health actor for the supervisor's health; it answers ``SupervisorHealth``."""


@dataclass(frozen=True, slots=True)
class ActorHealth:
    """One actor of the tree: its runtime status (``state``) and what that means (``status``)."""

    name: str
    status: str  # "ok", "degraded" or "unhealthy"
    state: str  # the runtime's status: "running", "restarting", "failed", ...
    restarts: int
    last_error: str | None
    last_restart_at: str | None
    mailbox_depth: int
    processed: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class DiskCheck:
    """Free space on the data partition."""

    status: str  # "ok" or "degraded"
    free_bytes: int
    total_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SupervisorHealth:
    """The overall status, every actor, every current reason and the system checks."""

    status: str  # "ok", "degraded" or "unhealthy": the worst of everything below
    actors: tuple[ActorHealth, ...]
    reasons: tuple[HealthReason, ...]
    disk: DiskCheck

    @property
    def checks(self) -> dict[str, Any]:
        return {"disk": self.disk.to_dict()}


@dataclass(frozen=True, slots=True)
class ReportPluginHealth:
    """One run's outcome from the display runtime; answers the plugin's health summary.

    Validated at the boundary (web/routes/plugin_health.py); the plugin is installed.
    """

    plugin_id: str
    success: bool
    error: str | None = None
    duration_ms: float | None = None


@dataclass(frozen=True, slots=True)
class GetPluginHealth:
    """-> the plugin's health summary (``unknown`` with no reports)."""

    plugin_id: str


@dataclass(frozen=True, slots=True)
class GetPluginsHealth:
    """-> ``{plugin_id: summary}`` for each of ``plugin_ids`` (the installed plugins)."""

    plugin_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ResetPluginHealth:
    """Close the plugin's circuit and clear its failure streak; answers the summary."""

    plugin_id: str
