"""Helpers shared by the routes: body limits, typed fields, the success envelope."""

from __future__ import annotations

import codecs
import re
from typing import Any

import orjson
from aiohttp import web

from actors.errors import ErrorCode, PlugvisorError, invalid_input
from actors.rendered import Rendered

JSON_BODY_LIMIT = 1024 * 1024  # 1 MiB
ARCHIVE_BODY_LIMIT = 50 * 1024 * 1024  # 50 MiB
JSON_CONTENT_TYPE = "application/json"
MAX_JSON_DEPTH = 32  # no request body comes close; orjson cannot write much deeper ones back
_DIGITS = re.compile(r"[0-9]{1,9}")
# Charsets a JSON body may declare (codec names as ``codecs.lookup`` gives them).
BODY_CHARSETS = frozenset(
    {
        "utf-8",
        "utf-16",
        "utf-16-le",
        "utf-16-be",
        "utf-32",
        "utf-32-le",
        "utf-32-be",
        "iso8859-1",
        "ascii",
    }
)

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


def rendered_success(request: web.Request, rendered: Rendered) -> web.Response:
    """The success envelope around bytes an actor serialised once, with their ETag; 304 with
    no body when ``If-None-Match`` names it (or is ``*``)."""
    headers = {"ETag": rendered.etag, "Cache-Control": "no-cache"}
    wanted = request.headers.get("If-None-Match")
    if wanted is not None and _etag_matches(wanted, rendered.etag):
        return web.Response(status=304, headers=headers)
    return web.Response(
        body=b'{"status":"success","data":' + rendered.body + b"}",
        content_type=JSON_CONTENT_TYPE,
        charset="utf-8",
        headers=headers,
    )


def _etag_matches(header: str, etag: str) -> bool:
    """RFC 9110 weak comparison, as If-None-Match asks for."""
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)


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

    A body must be sent as ``application/json`` (or ``application/*+json``) and be nested at
    most ``MAX_JSON_DEPTH`` levels. It is decoded by the ``charset`` its Content-Type declares
    (UTF-8 when none; an unsupported one is refused by name). With ``optional=True`` an empty
    body reads as ``{}``.
    """
    raw = await read_body(request)
    text = decode_body(raw, request.charset)
    if not text.strip():
        if optional:
            return {}
        raise invalid_input("Request body must be a JSON object", field="body")
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise invalid_input(f"Request body is not valid JSON: {exc.msg}", field="body") from None
    if not _is_json(request.content_type):
        raise invalid_input(
            f"Request body must be sent with Content-Type: {JSON_CONTENT_TYPE}",
            field="Content-Type",
        )
    if not isinstance(value, dict):
        raise invalid_input("Request body must be a JSON object", field="body")
    if _deeper_than(value, MAX_JSON_DEPTH):
        raise invalid_input(
            f"Request body is nested more than {MAX_JSON_DEPTH} levels deep", field="body"
        )
    return value


def decode_body(raw: bytes, charset: str | None) -> bytes | str:
    """The body as JSON text: UTF-8 bytes as they are, any other supported charset decoded."""
    if charset is None:
        return raw
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        name = ""
    if name not in BODY_CHARSETS:
        shown = "".join(ch for ch in charset[:40] if ch.isprintable() and ch.isascii())
        raise invalid_input(
            f"Unsupported charset '{shown}' in Content-Type; send the body as UTF-8, UTF-16,"
            " UTF-32 or ISO-8859-1",
            field="Content-Type",
        )
    if name == "utf-8":
        return raw
    try:
        return raw.decode(name)
    except UnicodeDecodeError:
        raise invalid_input(f"Request body is not valid {name} text", field="body") from None


def _is_json(content_type: str) -> bool:
    return content_type == JSON_CONTENT_TYPE or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def _deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if not isinstance(item, list):
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in item)
    return False


def field(
    body: dict[str, Any],
    name: str,
    kind: type | tuple[type, ...],
    *,
    required: bool = True,
    default: Any = None,
) -> Any:
    """``body[name]`` checked against ``kind``; a boolean is never a number, nor the reverse.

    An optional field given as ``null`` reads as absent, except a boolean: JSON true/false only.
    """
    kinds = kind if isinstance(kind, tuple) else (kind,)
    value = body.get(name, _MISSING)
    if value is _MISSING or (value is None and not required and bool not in kinds):
        if required:
            raise invalid_input(f"Missing required field '{name}'", field=name)
        return default
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


def query_param(request: web.Request, name: str) -> str | None:
    """The query parameter ``name``, or ``None``; given twice it is ambiguous: 400."""
    values = request.query.getall(name, [])
    if len(values) > 1:
        raise invalid_input(f"Query parameter '{name}' must be given at most once", field=name)
    return values[0] if values else None


def query_bool(request: web.Request, name: str, default: bool = False) -> bool:
    raw = query_param(request, name)
    if raw is None or raw == "":
        return default
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise invalid_input(f"Query parameter '{name}' must be true or false", field=name)


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """Plain decimal digits only: no sign, spaces, underscores or non-ASCII digits."""
    raw = query_param(request, name)
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise invalid_input(
            f"Query parameter '{name}' must be an integer from {low} to {high}", field=name
        )
    return int(raw)
