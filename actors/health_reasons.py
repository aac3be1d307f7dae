"""The shared question every actor with something to report answers: why is the system not fine?"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class GetHealthReasons:
    """Ask an actor for its current health reasons; it answers ``list[HealthReason]``."""


@dataclass(frozen=True, slots=True)
class HealthReason:
    code: str  # stable, machine-readable: "config_restored_from_backup"
    message: str  # safe to show a person
    since: str  # ISO 8601 UTC
    detail: str | None = None
    remediation: str | None = None
    severity: str = "degraded"  # "degraded" or "unhealthy"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
