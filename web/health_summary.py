"""The health summary the status feed's snapshot carries, as the health actor reports it."""

from __future__ import annotations

from typing import Any

from actors.health import GetSupervisorHealth
from actors.system import System


async def health_summary(system: System) -> dict[str, Any]:
    """``{"status", "reasons"}`` now; the feed's one dependency on how health is gathered."""
    report = await system.health.ask(GetSupervisorHealth(), timeout=system.settings.timeouts.report)
    return {"status": report.status, "reasons": [reason.to_dict() for reason in report.reasons]}
