"""The supervisor's health, gathered in one place: every actor of the tree, every reason, disk.

/api/v3/supervisor/health shows all of it; the status feed's snapshot shows the summary.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from dataclasses import dataclass
from typing import Any

from actors.health_reasons import GetHealthReasons, HealthReason
from actors.system import System
from actors.timeutil import now_iso

LOW_DISK_BYTES = 64 * 1024 * 1024
_ACTOR_STATUS = {"running": "ok", "starting": "degraded", "restarting": "degraded"}
_RANK = {"ok": 0, "degraded": 1, "unhealthy": 2}


@dataclass(frozen=True, slots=True)
class HealthFacts:
    status: str  # "ok", "degraded" or "unhealthy"
    actors: list[dict[str, Any]]
    reasons: list[HealthReason]
    disk: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        """Status and reasons: what the status feed's snapshot carries."""
        return {"status": self.status, "reasons": [reason.to_dict() for reason in self.reasons]}


def _actor_entry(stat: Any) -> dict[str, Any]:
    raw = dataclasses.asdict(stat) if dataclasses.is_dataclass(stat) else dict(stat)
    return {
        "name": raw["name"],
        "status": _ACTOR_STATUS.get(raw["status"], "unhealthy"),
        "state": raw["status"],
        "restarts": raw["restarts"],
        "last_error": raw["last_error"],
        "last_restart_at": raw["last_restart_at"],
        "mailbox_depth": raw["mailbox_depth"],
        "processed": raw["processed"],
    }


async def _collect_reasons(system: System) -> list[HealthReason]:
    reasons: list[HealthReason] = []
    for ref in system.reason_sources:
        try:
            reasons.extend(await ref.ask(GetHealthReasons(), timeout=2.0))
        except Exception as exc:  # an actor that cannot answer is itself a reason
            reasons.append(
                HealthReason(
                    code="actor_unresponsive",
                    message=f"Component '{ref.name}' did not report its health",
                    since=now_iso(),
                    detail=type(exc).__name__,
                    remediation="It restarts automatically; if this persists, restart the service",
                )
            )
    return reasons


async def _disk_check(system: System) -> tuple[dict[str, Any], HealthReason | None]:
    usage = await asyncio.to_thread(shutil.disk_usage, system.paths.root)
    low = usage.free < LOW_DISK_BYTES
    check = {
        "status": "degraded" if low else "ok",
        "free_bytes": usage.free,
        "total_bytes": usage.total,
    }
    reason = None
    if low:
        reason = HealthReason(
            code="low_disk_space",
            message="The data partition is almost full",
            since=now_iso(),
            detail=f"{usage.free // (1024 * 1024)} MiB free",
            remediation="Remove unused plugins or files to free space",
        )
    return check, reason


async def gather_health(system: System) -> HealthFacts:
    """Ask every reason source, check the disk, and rank the worst status."""
    actors = [_actor_entry(stat) for stat in system.tree.stats()]
    reasons = await _collect_reasons(system)
    reasons.extend(system.damage.reasons())
    disk, disk_reason = await _disk_check(system)
    if disk_reason is not None:
        reasons.append(disk_reason)
    worst = "ok" if system.tree.healthy else "degraded"
    for entry in actors:
        worst = max(worst, entry["status"], key=_RANK.__getitem__)
    for reason in reasons:
        worst = max(worst, reason.severity, key=_RANK.__getitem__)
    return HealthFacts(status=worst, actors=actors, reasons=reasons, disk=disk)


async def health_summary(system: System) -> dict[str, Any]:
    """``{"status", "reasons"}`` now; the feed's one dependency on how health is gathered."""
    return (await gather_health(system)).summary()
