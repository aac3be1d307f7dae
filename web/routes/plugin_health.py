"""Plugin health: each plugin's circuit breaker, fed by the display runtime's reports.

Ids and bodies are checked here; a plugin that is not installed is 404 ``PLUGIN_NOT_FOUND``
(the state actor says what is installed). The health actor keeps the breakers.
"""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from actors.errors import ErrorCode, PlugvisorError, invalid_input
from actors.health.messages import (
    GetPluginHealth,
    GetPluginsHealth,
    ReportPluginHealth,
    ResetPluginHealth,
)
from actors.plugin_ids import validate_plugin_id
from actors.state.messages import GetAllStates, GetState
from web import keys
from web.http import field, read_json_object, success

MAX_REPORT_ERROR_CHARS = 2000
REPORT_FIELDS = frozenset({"success", "error", "duration_ms"})


def _plugin_id(request: web.Request) -> str:
    return validate_plugin_id(request.match_info["plugin_id"])


async def _installed_id(request: web.Request) -> str:
    plugin_id = _plugin_id(request)
    system = request.app[keys.SYSTEM]
    state = await system.state.ask(GetState(plugin_id), timeout=system.settings.timeouts.read)
    if state is None:
        raise PlugvisorError(
            ErrorCode.PLUGIN_NOT_FOUND,
            f"Plugin '{plugin_id}' is not installed",
            context={"plugin_id": plugin_id},
        )
    return plugin_id


def _report_from(plugin_id: str, body: dict[str, Any]) -> ReportPluginHealth:
    unknown = sorted(set(body) - REPORT_FIELDS)
    if unknown:
        raise invalid_input(f"Unknown field '{unknown[0]}'", field=unknown[0])
    ok = field(body, "success", bool)
    error = field(body, "error", str, required=False)
    if error is not None and len(error) > MAX_REPORT_ERROR_CHARS:
        raise invalid_input(
            f"Field 'error' must be at most {MAX_REPORT_ERROR_CHARS} characters", field="error"
        )
    duration = field(body, "duration_ms", (int, float), required=False)
    if duration is not None and (not math.isfinite(duration) or duration < 0):
        message = "Field 'duration_ms' must be a non-negative number"
        raise invalid_input(message, field="duration_ms")
    return ReportPluginHealth(plugin_id, ok, error, duration)


async def all_health(request: web.Request) -> web.Response:
    system = request.app[keys.SYSTEM]
    timeout = system.settings.timeouts.read
    states = await system.state.ask(GetAllStates(), timeout=timeout)
    summaries = await system.health.ask(GetPluginsHealth(tuple(states)), timeout=timeout)
    return success(summaries)


async def plugin_health(request: web.Request) -> web.Response:
    plugin_id = await _installed_id(request)
    system = request.app[keys.SYSTEM]
    answer = await system.health.ask(
        GetPluginHealth(plugin_id), timeout=system.settings.timeouts.read
    )
    return success(answer)


async def report(request: web.Request) -> web.Response:
    message = _report_from(_plugin_id(request), await read_json_object(request))
    await _installed_id(request)  # checks first (400), then whether it is installed (404)
    system = request.app[keys.SYSTEM]
    answer = await system.health.ask(message, timeout=system.settings.timeouts.write)
    return success(answer)


async def reset(request: web.Request) -> web.Response:
    plugin_id = await _installed_id(request)
    system = request.app[keys.SYSTEM]
    answer = await system.health.ask(
        ResetPluginHealth(plugin_id), timeout=system.settings.timeouts.write
    )
    return success(answer)


def setup(app: web.Application) -> None:
    router = app.router
    router.add_get("/api/v3/plugins/health", all_health)
    router.add_get("/api/v3/plugins/health/{plugin_id}", plugin_health)
    router.add_post("/api/v3/plugins/health/{plugin_id}/report", report)
    router.add_post("/api/v3/plugins/health/{plugin_id}/reset", reset)
