"""Helpers shared by the routes: body limits, typed fields, the success envelope."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from actors.errors import ErrorCode, PlugvisorError, invalid_input

JSON_BODY_LIMIT = 1024 * 1024  # 1 MiB
ARCHIVE_BODY_LIMIT = 50 * 1024 * 1024  # 50 MiB
JSON_CONTENT_TYPE = "application/json"

_MISSING = object()


def json_response(
    body: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(body),
        status=status,
        content_type=JSON_CONTENT_TYPE,
        charset="utf-8",
        headers=headers,
    )


def success(
    data: Any = None,
    message: str | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body: dict[str, Any] = {"status": "success", "data": data}
    if message is not None:
        body["message"] = message
    return json_response(body, status=status, headers=headers)


def too_large(limit: int) -> PlugvisorError:
    return PlugvisorError(
        ErrorCode.PAYLOAD_TOO_LARGE,
        f"Request body is larger than the limit of {limit // 1024} KiB",
        context={"limit_bytes": limit},
    )


async def read_body(request: web.Request, limit: int = JSON_BODY_LIMIT) -> bytes:
    """The raw body, refused with 413 once it exceeds ``limit`` (checked while reading)."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json_object(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object; 400 INVALID_INPUT when it is missing, malformed or not an object.

    With ``optional=True`` an empty body reads as ``{}``.
    """
    raw = await read_body(request)
    if not raw.strip():
        if optional:
            return {}
        raise invalid_input("Request body must be a JSON object", field="body")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid_input(f"Request body is not valid JSON: {exc.msg}", field="body") from None
    if not isinstance(value, dict):
        raise invalid_input("Request body must be a JSON object", field="body")
    return value


def field(
    body: dict[str, Any],
    name: str,
    kind: type | tuple[type, ...],
    *,
    required: bool = True,
    default: Any = None,
) -> Any:
    """``body[name]`` checked against ``kind``; a boolean is never a number, nor the reverse."""
    value = body.get(name, _MISSING)
    if value is _MISSING or (value is None and not required):
        if required:
            raise invalid_input(f"Missing required field '{name}'", field=name)
        return default
    kinds = kind if isinstance(kind, tuple) else (kind,)
    is_bool = isinstance(value, bool)
    if (is_bool and bool not in kinds) or not isinstance(value, kinds):
        expected = " or ".join(_type_name(k) for k in kinds)
        raise invalid_input(f"Field '{name}' must be {expected}", field=name)
    return value


def _type_name(kind: type) -> str:
    return {
        str: "a string",
        bool: "a boolean (true or false)",
        int: "an integer",
        float: "a number",
        dict: "an object",
        list: "an array",
    }.get(kind, kind.__name__)


def query_bool(request: web.Request, name: str, default: bool = False) -> bool:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise invalid_input(f"Query parameter '{name}' must be true or false", field=name)


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        raise invalid_input(
            f"Query parameter '{name}' must be an integer from {low} to {high}", field=name
        ) from None
    if not low <= value <= high:
        raise invalid_input(
            f"Query parameter '{name}' must be an integer from {low} to {high}", field=name
        )
    return value
