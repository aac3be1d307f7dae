"""Operation endpoints: one record, cancel, the active queue, and the persistent history."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from actors.errors import ErrorCode, PlugvisorError
from actors.history.messages import QueryHistory
from actors.queue.messages import CancelOperation, GetOperation, ListOperations
from actors.queue.records import TERMINAL
from actors.queue.waiting import wait_for_operation
from web import keys
from web.http import success
from web.spec import requests as spec

WAIT_LIMIT_S = 120.0
CANCEL_WAIT_S = 30.0

_FINAL_ERROR = {
    "timed_out": ErrorCode.TIMEOUT,
    "cancelled": ErrorCode.PLUGIN_OPERATION_CONFLICT,
    "interrupted": ErrorCode.SYSTEM_ERROR,
}


def _operation_id(request: web.Request) -> str:
    return spec.OPERATION_ID.read(request)  # a malformed id is 404 OPERATION_NOT_FOUND


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
    spec.ACTIVE_ONLY.read(request)  # only 'active': finished operations are in the history
    system = request.app[keys.SYSTEM]
    return success(await system.queue.ask(ListOperations(), timeout=system.settings.timeouts.read))


async def operation_history(request: web.Request) -> web.Response:
    plugin_id, operation_type, status, limit, before = (
        param.read(request) for param in spec.HISTORY_QUERY
    )
    query = QueryHistory(
        plugin_id=plugin_id,
        operation_type=operation_type,
        status=status,
        limit=limit,
        before=before,
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
