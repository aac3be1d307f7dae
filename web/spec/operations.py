"""The table of every route: method, path, inputs (from ``web.spec.requests``) and answers.

``web.spec.document`` turns this table into the OpenAPI document; a test compares it with the
routes the application registers, so a route cannot exist undocumented, nor the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web.spec import requests as rq
from web.spec.inputs import Body, PathParam, QueryParam, Upload
from web.spec.schemas import ref, saved

OPENAPI_PATH = "/api/v3/openapi.json"


@dataclass(frozen=True)
class Answer:
    """One success answer: its status, description and ``data`` schema (None: no envelope)."""

    status: int
    description: str
    data: dict[str, Any] | None
    media: tuple[str, ...] = ()  # a body that is not JSON: its content types (the dashboard)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    name: str
    tag: str
    summary: str
    answers: tuple[Answer, ...]
    body: Body | Upload | None = None
    query: tuple[QueryParam, ...] = ()
    path_params: tuple[PathParam, ...] = ()
    errors: tuple[int, ...] = ()  # besides the ones every route of its kind can answer
    public: bool = False  # no token needed (and no actor asked)
    feed: bool = False  # the WebSocket upgrade


def ok(data: dict[str, Any], description: str = "Success") -> tuple[Answer, ...]:
    return (Answer(200, description, data),)


def _array(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


def _by_id(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": item}


# The answers of a queued operation: a receipt; with ?wait=true the final record (200) or,
# still running after the wait limit, the current record (202).
QUEUED = (
    Answer(
        202,
        "Queued: the receipt; with ?wait=true and still running after 120 s, the current record",
        {"anyOf": [ref("OperationReceipt"), ref("Operation")]},
    ),
    Answer(200, "With ?wait=true: the operation completed; its final record", ref("Operation")),
)
NOT_MODIFIED = Answer(304, "If-None-Match named the current ETag: no body", None)


def queued(
    path: str, name: str, summary: str, body: Body | Upload, errors: tuple[int, ...]
) -> Route:
    """A plugin operation that goes through the queue: 202 or, with ?wait=true, 200."""
    return Route(
        "POST",
        path,
        name,
        "plugins",
        f"{summary} (queued)",
        QUEUED,
        body=body,
        query=(rq.WAIT,),
        errors=errors,
    )


_OPERATION_RECORD = ref("Operation")
_CONFIG_VIEW = {"type": "object", "description": "Secrets masked as '••••••••'"}

ROUTES: tuple[Route, ...] = (
    # --- liveness, health and the document itself
    Route(
        "GET",
        "/healthz",
        "liveness",
        "health",
        "Liveness: 200 `ok` while the event loop answers",
        (Answer(200, "Alive", None),),
        public=True,
    ),
    Route(
        "GET",
        OPENAPI_PATH,
        "openapi",
        "meta",
        "This OpenAPI 3.1 document",
        (Answer(200, "The document", None),),
        public=True,
    ),
    # --- the dashboard (web/routes/dashboard.py): a page and its files, no data, no token
    Route(
        "GET",
        "/",
        "dashboard",
        "dashboard",
        "The dashboard page",
        (Answer(200, "The page", None, ("text/html",)), NOT_MODIFIED),
        public=True,
    ),
    Route(
        "GET",
        "/dashboard/{name}",
        "dashboard_file",
        "dashboard",
        "One of the dashboard's scripts or its style sheet",
        (Answer(200, "The file", None, ("text/javascript", "text/css")), NOT_MODIFIED),
        path_params=(PathParam("name", description="A file name such as app.js"),),
        errors=(404,),
        public=True,
    ),
    Route(
        "GET",
        "/api/v3/supervisor/health",
        "supervisor_health",
        "health",
        "The supervisor's health: actors, reasons, checks, last reconciliation",
        (
            Answer(200, "ok or degraded", ref("SupervisorHealth")),
            Answer(503, "unhealthy (the same body)", ref("SupervisorHealth")),
        ),
    ),
    # --- plugins
    queued(
        "/api/v3/plugins/install",
        "install",
        "Install a plugin from the registry",
        rq.INSTALL,
        (404, 409, 502, 507),
    ),
    queued(
        "/api/v3/plugins/install-from-url",
        "install_from_url",
        "Install a plugin from a git or archive URL",
        rq.INSTALL_FROM_URL,
        (409, 502, 507),
    ),
    queued(
        "/api/v3/plugins/install-archive",
        "install_archive",
        "Install a plugin from an uploaded archive",
        rq.ARCHIVE,
        (409, 507),
    ),
    queued(
        "/api/v3/plugins/update",
        "update",
        "Update an installed plugin",
        rq.UPDATE,
        (404, 409, 502, 507),
    ),
    queued(
        "/api/v3/plugins/uninstall",
        "uninstall",
        "Uninstall a plugin",
        rq.UNINSTALL,
        (404, 409, 507),
    ),
    Route(
        "POST",
        "/api/v3/plugins/toggle",
        "toggle",
        "plugins",
        "Enable or disable a plugin; answers once durable",
        ok({"type": "object", "required": ["plugin_id", "enabled", "status"]}),
        body=rq.TOGGLE,
        errors=(404, 409, 507),
    ),
    Route(
        "GET",
        "/api/v3/plugins/installed",
        "installed",
        "plugins",
        "The installed plugins",
        (
            *ok(
                {
                    "type": "object",
                    "required": ["plugins"],
                    "properties": {"plugins": _array(ref("InstalledPlugin"))},
                }
            ),
            NOT_MODIFIED,
        ),
    ),
    Route(
        "GET",
        "/api/v3/plugins/store/list",
        "store_list",
        "plugins",
        "Registry entries, each with installed and installed_version",
        ok(ref("StoreListing")),
        query=rq.STORE_FILTERS,
    ),
    Route(
        "POST",
        "/api/v3/plugins/store/refresh",
        "store_refresh",
        "plugins",
        "Re-read the registry (any body is ignored)",
        ok(ref("RegistryRefresh")),
        errors=(413,),
    ),
    Route(
        "GET",
        "/api/v3/plugins/state",
        "plugin_state",
        "plugins",
        "One plugin's state, or every plugin's by id",
        (*ok({"anyOf": [ref("PluginState"), _by_id(ref("PluginState"))]}), NOT_MODIFIED),
        query=(rq.STATE_PLUGIN_ID,),
        errors=(404,),
    ),
    Route(
        "POST",
        "/api/v3/plugins/state/reconcile",
        "reconcile",
        "plugins",
        "Reconcile config, disk, state and registry (body optional)",
        ok(ref("ReconcileResult")),
        body=rq.RECONCILE,
        errors=(507,),
    ),
    # --- operations
    Route(
        "GET",
        "/api/v3/plugins/operation/history",
        "operation_history",
        "operations",
        "The persistent history, newest first (Link: rel=next for the next page)",
        ok(_array(ref("HistoryRecord"))),
        query=rq.HISTORY_QUERY,
    ),
    Route(
        "GET",
        "/api/v3/plugins/operation/{operation_id}",
        "get_operation",
        "operations",
        "One operation record",
        ok(_OPERATION_RECORD),
        path_params=(rq.OPERATION_ID,),
        errors=(404,),
    ),
    Route(
        "POST",
        "/api/v3/plugins/operation/{operation_id}/cancel",
        "cancel_operation",
        "operations",
        "Cancel a pending or running operation",
        ok(_OPERATION_RECORD),
        path_params=(rq.OPERATION_ID,),
        errors=(404, 409),
    ),
    Route(
        "GET",
        "/api/v3/plugins/operations",
        "list_operations",
        "operations",
        "Pending and running operations, in queue order",
        ok(_array(_OPERATION_RECORD)),
        query=(rq.ACTIVE_ONLY,),
    ),
    # --- configuration
    Route(
        "GET",
        "/api/v3/plugins/config",
        "get_plugin_config",
        "config",
        "A plugin's config merged with schema defaults (ETag)",
        ok(_CONFIG_VIEW),
        query=(rq.CONFIG_PLUGIN_ID,),
        errors=(404,),
    ),
    Route(
        "POST",
        "/api/v3/plugins/config",
        "save_plugin_config",
        "config",
        "Validate and save a plugin's config (If-Match optional)",
        ok(saved("config", _CONFIG_VIEW, plugin_id={"type": "string"})),
        body=rq.PLUGIN_CONFIG,
        query=(rq.DRY_RUN,),
        errors=(404, 412, 507),
    ),
    Route(
        "GET",
        "/api/v3/plugins/schema",
        "get_plugin_schema",
        "config",
        "A plugin's config schema",
        ok({"type": "object"}),
        query=(rq.CONFIG_PLUGIN_ID,),
        errors=(404,),
    ),
    Route(
        "GET",
        "/api/v3/config/main",
        "get_main_config",
        "config",
        "System keys of the main config (ETag)",
        ok(_CONFIG_VIEW),
    ),
    Route(
        "POST",
        "/api/v3/config/main",
        "save_main_config",
        "config",
        "Deep-merge system keys into the main config",
        ok(saved("config", _CONFIG_VIEW)),
        body=rq.MAIN_CONFIG,
        query=(rq.DRY_RUN,),
        errors=(412, 507),
    ),
    Route(
        "GET",
        "/api/v3/config/schedule",
        "get_schedule",
        "config",
        "The schedule (ETag)",
        ok({"type": "object"}),
    ),
    Route(
        "POST",
        "/api/v3/config/schedule",
        "save_schedule",
        "config",
        "Replace the schedule",
        ok(saved("schedule", {"type": "object"})),
        body=rq.SCHEDULE,
        query=(rq.DRY_RUN,),
        errors=(412, 507),
    ),
    Route(
        "GET",
        "/api/v3/config/backups",
        "list_backups",
        "config",
        "Config backups, newest first",
        ok(_array(ref("Backup"))),
    ),
    Route(
        "POST",
        "/api/v3/config/backups/{backup_id}/restore",
        "restore_backup",
        "config",
        "Restore that exact backup (and its secrets twin)",
        ok({"type": "object", "required": ["restored_backup_id", "generation", "backup_id"]}),
        path_params=(rq.BACKUP_ID,),
        errors=(404, 507),
    ),
    # --- plugin health
    Route(
        "GET",
        "/api/v3/plugins/health",
        "all_plugin_health",
        "health",
        "Every installed plugin's health summary",
        ok(_by_id(ref("PluginHealth"))),
    ),
    Route(
        "GET",
        "/api/v3/plugins/health/{plugin_id}",
        "plugin_health",
        "health",
        "One plugin's circuit breaker",
        ok(ref("PluginHealth")),
        path_params=(rq.HEALTH_PLUGIN_ID,),
        errors=(404,),
    ),
    Route(
        "POST",
        "/api/v3/plugins/health/{plugin_id}/report",
        "report_plugin_health",
        "health",
        "A run's outcome from the display runtime",
        ok(ref("PluginHealth")),
        body=rq.HEALTH_REPORT,
        path_params=(rq.HEALTH_PLUGIN_ID,),
        errors=(404, 507),
    ),
    Route(
        "POST",
        "/api/v3/plugins/health/{plugin_id}/reset",
        "reset_plugin_health",
        "health",
        "Close the plugin's circuit",
        ok(ref("PluginHealth")),
        path_params=(rq.HEALTH_PLUGIN_ID,),
        errors=(404, 507),
    ),
    # --- status feed
    Route(
        "GET",
        "/api/v3/ws",
        "status_feed",
        "feed",
        "The status feed (WebSocket): a snapshot or a replay, then every event",
        (Answer(101, "Switching to the WebSocket protocol", None),),
        query=(rq.FEED_SINCE,),
        feed=True,
    ),
)
