"""Configuration routes: plugin configs and schemas, main config, schedule, backups."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from actors.config_store import (
    ConfigView,
    GetMainConfig,
    GetPluginConfig,
    GetPluginSchema,
    GetSchedule,
    ListBackups,
    RestoreBackup,
    SaveMainConfig,
    SavePluginConfig,
    SaveResult,
    SaveSchedule,
)
from web import keys
from web.access import request_user
from web.http import read_json_object, success
from web.spec import requests as spec


async def _read(request: web.Request, message: Any) -> Any:
    system = request.app[keys.SYSTEM]
    return await system.config_store.ask(message, timeout=system.settings.timeouts.read)


async def _write(request: web.Request, message: Any) -> Any:
    system = request.app[keys.SYSTEM]
    return await system.config_store.ask(message, timeout=system.settings.timeouts.write)


def _user(request: web.Request) -> str:
    return request_user(request)


def _view(view: ConfigView) -> web.Response:
    return success(view.data, headers={"ETag": view.etag})


def _saved(result: SaveResult, data: dict[str, Any], message: str) -> web.Response:
    if result.dry_run:
        return success(
            {**data, "valid": True, "dry_run": True}, "Configuration is valid (not saved)"
        )
    body = {**data, "generation": result.generation, "backup_id": result.backup_id}
    headers = {"ETag": result.etag} if result.etag else None
    return success(body, message, headers=headers)


async def get_plugin_config(request: web.Request) -> web.Response:
    return _view(await _read(request, GetPluginConfig(spec.CONFIG_PLUGIN_ID.read(request))))


async def post_plugin_config(request: web.Request) -> web.Response:
    values = spec.PLUGIN_CONFIG.read(await read_json_object(request))
    plugin_id = values["plugin_id"]
    message = SavePluginConfig(
        plugin_id,
        values["config"],
        if_match=request.headers.get("If-Match"),
        dry_run=spec.DRY_RUN.read(request),
        user=_user(request),
    )
    result: SaveResult = await _write(request, message)
    data = {"plugin_id": plugin_id, "config": result.data}
    return _saved(result, data, f"Plugin {plugin_id} configuration saved successfully")


async def get_plugin_schema(request: web.Request) -> web.Response:
    return success(await _read(request, GetPluginSchema(spec.CONFIG_PLUGIN_ID.read(request))))


async def get_main_config(request: web.Request) -> web.Response:
    return _view(await _read(request, GetMainConfig()))


async def post_main_config(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    message = SaveMainConfig(
        body,
        if_match=request.headers.get("If-Match"),
        dry_run=spec.DRY_RUN.read(request),
        user=_user(request),
    )
    result: SaveResult = await _write(request, message)
    return _saved(result, {"config": result.data}, "Configuration saved successfully")


async def get_schedule(request: web.Request) -> web.Response:
    return _view(await _read(request, GetSchedule()))


async def post_schedule(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    spec.SCHEDULE.read(body)  # the types; the whole schedule is replaced, as sent
    message = SaveSchedule(
        body,
        if_match=request.headers.get("If-Match"),
        dry_run=spec.DRY_RUN.read(request),
        user=_user(request),
    )
    result: SaveResult = await _write(request, message)
    return _saved(result, {"schedule": result.data}, "Schedule configuration saved successfully")


async def list_backups(request: web.Request) -> web.Response:
    backups = await _read(request, ListBackups())
    return success([backup.to_dict() for backup in backups])


async def restore_backup(request: web.Request) -> web.Response:
    backup_id = spec.BACKUP_ID.read(request)
    result: SaveResult = await _write(request, RestoreBackup(backup_id, user=_user(request)))
    data = {
        "restored_backup_id": backup_id,
        "generation": result.generation,
        "backup_id": result.backup_id,
    }
    return success(data, f"Configuration restored from backup {backup_id}")


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v3/plugins/config", get_plugin_config)
    app.router.add_post("/api/v3/plugins/config", post_plugin_config)
    app.router.add_get("/api/v3/plugins/schema", get_plugin_schema)
    app.router.add_get("/api/v3/config/main", get_main_config)
    app.router.add_post("/api/v3/config/main", post_main_config)
    app.router.add_get("/api/v3/config/schedule", get_schedule)
    app.router.add_post("/api/v3/config/schedule", post_schedule)
    app.router.add_get("/api/v3/config/backups", list_backups)
    app.router.add_post("/api/v3/config/backups/{backup_id}/restore", restore_backup)
