"""Liveness (`/healthz`) and the supervisor's health: every actor of the tree, every reason."""

from __future__ import annotations

import time

import structlog
from aiohttp import web

from web import keys
from web.health_summary import gather_health
from web.http import json_response

log = structlog.get_logger(__name__)

VERSION = "0.1.0"


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def supervisor_health(request: web.Request) -> web.Response:
    system = request.app[keys.SYSTEM]
    facts = await gather_health(system)
    body = {
        "status": "success",
        "data": {
            "status": facts.status,
            "version": VERSION,
            "started_at": system.started_at,
            "uptime_s": round(time.monotonic() - request.app[STARTED], 3),
            "actors": facts.actors,
            "reasons": [reason.to_dict() for reason in facts.reasons],
            "checks": {"disk": facts.disk},
            "last_reconcile": None,
        },
    }
    return json_response(body, status=503 if facts.status == "unhealthy" else 200)


STARTED = web.AppKey("health_started_monotonic", float)


def setup(app: web.Application) -> None:
    app[STARTED] = time.monotonic()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/v3/supervisor/health", supervisor_health)
