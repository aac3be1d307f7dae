"""Plugin health: each plugin's circuit breaker, fed by the display runtime's reports.

Ids and bodies are checked here; a plugin that is not installed is 404 ``PLUGIN_NOT_FOUND``
(the state actor says what is installed). The health actor keeps the breakers.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from actors.errors import ErrorCode, PlugvisorError
from actors.health.messages import (
    GetPluginHealth,
    GetPluginsHealth,
    ReportPluginHealth,
    ResetPluginHealth,
)
from actors.state.messages import GetAllStates, GetState
from web import keys
from web.http import read_json_object, success
from web.spec import requests as spec


def _plugin_id(request: web.Request) -> str:
    return spec.HEALTH_PLUGIN_ID.read(request)


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
    values = spec.HEALTH_REPORT.read(body)
    return ReportPluginHealth(plugin_id, values["success"], values["error"], values["duration_ms"])


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
