"""Operation endpoints: one record, cancel, the active queue, and the persistent history."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from actors.errors import ErrorCode, PlugvisorError, invalid_input
from actors.history.messages import QueryHistory
from actors.history.query import parse_cursor
from actors.history.records import OPERATION_TYPES as HISTORY_TYPES
from actors.history.records import STATUSES as HISTORY_STATUSES
from actors.plugin_ids import validate_plugin_id
from actors.queue.messages import CancelOperation, GetOperation, ListOperations
from actors.queue.records import TERMINAL
from actors.queue.waiting import wait_for_operation
from web import keys
from web.http import query_int, query_param, success

WAIT_LIMIT_S = 120.0
CANCEL_WAIT_S = 30.0
MAX_OPERATION_ID = 64
_OPERATION_ID = re.compile(rf"[A-Za-z0-9]{{1,{MAX_OPERATION_ID}}}")

_FINAL_ERROR = {
    "timed_out": ErrorCode.TIMEOUT,
    "cancelled": ErrorCode.PLUGIN_OPERATION_CONFLICT,
    "interrupted": ErrorCode.SYSTEM_ERROR,
}


def _operation_id(request: web.Request) -> str:
    operation_id = request.match_info["operation_id"]
    if not _OPERATION_ID.fullmatch(operation_id):
        raise PlugvisorError(
            ErrorCode.OPERATION_NOT_FOUND,
            "Operation not found",
            context={"operation_id": operation_id[:MAX_OPERATION_ID]},
        )
    return operation_id


def _failure(record: dict[str, Any]) -> PlugvisorError:
    error = record.get("error") or {}
    code = _FINAL_ERROR.get(record["status"])
    if code is None:
        try:
            code = ErrorCode(error.get("error_code", ErrorCode.UNKNOWN_ERROR))
        except ValueError:
            code = ErrorCode.UNKNOWN_ERROR
    return PlugvisorError(
        code,
        error.get("message") or record.get("message") or f"Operation {record['status']}",
        context={"operation_id": record["operation_id"], "operation": record},
    )


async def answer_enqueued(
    request: web.Request, receipt: dict[str, Any], what: str, *, wait: bool
) -> web.Response:
    """202 with the receipt, or with ``wait`` (``?wait=true``) the finished record or its error."""
    if not wait:
        return success(receipt, what, status=202)
    system = request.app[keys.SYSTEM]
    record = await wait_for_operation(
        system.bus, system.queue, receipt["operation_id"], WAIT_LIMIT_S
    )
    if record is None:
        current = await system.queue.ask(
            GetOperation(receipt["operation_id"]), timeout=system.settings.timeouts.read
        )
        return success(current, f"{what}; still running after {WAIT_LIMIT_S:g} s", status=202)
    if record["status"] != "completed":
        raise _failure(record)
    return success(record, record.get("message"))


async def get_operation(request: web.Request) -> web.Response:
    system = request.app[keys.SYSTEM]
    message = GetOperation(_operation_id(request))
    return success(await system.queue.ask(message, timeout=system.settings.timeouts.read))


async def cancel_operation(request: web.Request) -> web.Response:
    system = request.app[keys.SYSTEM]
    queue, timeouts = system.queue, system.settings.timeouts
    record = await queue.ask(CancelOperation(_operation_id(request)), timeout=timeouts.write)
    if record["status"] not in TERMINAL:  # running: wait for its rollback to finish
        final = await wait_for_operation(system.bus, queue, record["operation_id"], CANCEL_WAIT_S)
        record = final or await queue.ask(
            GetOperation(record["operation_id"]), timeout=timeouts.read
        )
    message = (
        "Operation cancelled"
        if record["status"] == "cancelled"
        else f"Operation {record['status']}"
    )
    return success(record, message)


async def list_operations(request: web.Request) -> web.Response:
    status = query_param(request, "status") or "active"
    if status != "active":
        raise invalid_input(
            "Query parameter 'status' must be 'active' (finished operations are in the history)",
            field="status",
        )
    system = request.app[keys.SYSTEM]
    return success(await system.queue.ask(ListOperations(), timeout=system.settings.timeouts.read))


def _choice(request: web.Request, name: str, allowed: Any) -> str | None:
    value = query_param(request, name) or None
    if value is not None and value not in allowed:
        raise invalid_input(
            f"Query parameter '{name}' must be one of: {', '.join(sorted(allowed))}", field=name
        )
    return value


def _cursor(request: web.Request) -> str | None:
    before = query_param(request, "before") or None
    if before is not None and len(before) > 64:
        raise invalid_input("Query parameter 'before' is too long", field="before")
    return None if before is None else parse_cursor(before)


async def operation_history(request: web.Request) -> web.Response:
    raw_plugin = query_param(request, "plugin_id") or None
    query = QueryHistory(
        plugin_id=validate_plugin_id(raw_plugin) if raw_plugin else None,
        operation_type=_choice(request, "operation_type", HISTORY_TYPES),
        status=_choice(request, "status", HISTORY_STATUSES),
        limit=query_int(request, "limit", 50, 1, 1000),
        before=_cursor(request),
    )
    system = request.app[keys.SYSTEM]
    page = await system.history.ask(query, timeout=system.settings.timeouts.read)
    headers = {}
    if page.next_before:
        params = {k: v for k, v in request.query.items() if k != "before"}
        params["before"] = page.next_before
        headers["Link"] = f'<{request.path}?{urlencode(params)}>; rel="next"'
    return success(page.records, headers=headers)


def setup(app: web.Application) -> None:
    router = app.router
    # The fixed path is registered before the one with a variable so "history" is no id.
    router.add_get("/api/v3/plugins/operation/history", operation_history)
    router.add_get("/api/v3/plugins/operation/{operation_id}", get_operation)
    router.add_post("/api/v3/plugins/operation/{operation_id}/cancel", cancel_operation)
    router.add_get("/api/v3/plugins/operations", list_operations)
