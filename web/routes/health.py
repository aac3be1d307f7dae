"""Liveness (`/healthz`) and the supervisor's health, as the health actor reports it."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from actors.health import GetSupervisorHealth, SupervisorHealth, assess_without_actor
from actors.reconciler import GetLastReconcile
from supervision import SupervisionError
from web import keys
from web.http import json_response

VERSION = "0.1.0"


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _report(request: web.Request) -> SupervisorHealth:
    system = request.app[keys.SYSTEM]
    try:
        return await system.health.ask(
            GetSupervisorHealth(), timeout=system.settings.timeouts.report
        )
    except (SupervisionError, TimeoutError) as exc:  # the tree stopped or gave up
        return await assess_without_actor(system.tree, system.paths.root, system.health.name, exc)


async def _last_reconcile(request: web.Request) -> dict[str, Any] | None:
    system = request.app[keys.SYSTEM]
    try:
        return await system.reconciler.ask(
            GetLastReconcile(), timeout=system.settings.timeouts.probe
        )
    except (SupervisionError, TimeoutError):  # the health reasons say why it does not answer
        return None


async def supervisor_health(request: web.Request) -> web.Response:
    system = request.app[keys.SYSTEM]
    report = await _report(request)
    body = {
        "status": "success",
        "data": {
            "status": report.status,
            "version": VERSION,
            "started_at": system.started_at,
            "uptime_s": round(time.monotonic() - request.app[STARTED], 3),
            "actors": [actor.to_dict() for actor in report.actors],
            "reasons": [reason.to_dict() for reason in report.reasons],
            "checks": report.checks,
            "last_reconcile": await _last_reconcile(request),
        },
    }
    return json_response(body, status=503 if report.status == "unhealthy" else 200)


STARTED = web.AppKey("health_started_monotonic", float)


def setup(app: web.Application) -> None:
    app[STARTED] = time.monotonic()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/v3/supervisor/health", supervisor_health)
