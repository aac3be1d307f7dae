"""Liveness (`/healthz`) and the supervisor's health: every actor of the tree, every reason."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import time
from typing import Any

import structlog
from aiohttp import web

from actors.health_reasons import GetHealthReasons, HealthReason
from actors.timeutil import now_iso
from web import keys
from web.http import json_response

log = structlog.get_logger(__name__)

VERSION = "0.1.0"
LOW_DISK_BYTES = 64 * 1024 * 1024
_ACTOR_STATUS = {"running": "ok", "starting": "degraded", "restarting": "degraded"}
_RANK = {"ok": 0, "degraded": 1, "unhealthy": 2}


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


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


async def _collect_reasons(request: web.Request) -> list[HealthReason]:
    system = request.app[keys.SYSTEM]
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


async def _disk_check(request: web.Request) -> tuple[dict[str, Any], HealthReason | None]:
    system = request.app[keys.SYSTEM]
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


async def supervisor_health(request: web.Request) -> web.Response:
    system = request.app[keys.SYSTEM]
    actors = [_actor_entry(stat) for stat in system.tree.stats()]
    reasons = await _collect_reasons(request)
    reasons.extend(system.damage.reasons())
    disk, disk_reason = await _disk_check(request)
    if disk_reason is not None:
        reasons.append(disk_reason)
    worst = "ok" if system.tree.healthy else "degraded"
    for entry in actors:
        worst = max(worst, entry["status"], key=_RANK.__getitem__)
    for reason in reasons:
        worst = max(worst, reason.severity, key=_RANK.__getitem__)
    body = {
        "status": "success",
        "data": {
            "status": worst,
            "version": VERSION,
            "started_at": system.started_at,
            "uptime_s": round(time.monotonic() - request.app[STARTED], 3),
            "actors": actors,
            "reasons": [reason.to_dict() for reason in reasons],
            "checks": {"disk": disk},
            "last_reconcile": None,
        },
    }
    return json_response(body, status=503 if worst == "unhealthy" else 200)


STARTED = web.AppKey("health_started_monotonic", float)


def setup(app: web.Application) -> None:
    app[STARTED] = time.monotonic()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/v3/supervisor/health", supervisor_health)
