"""GET /api/v3/openapi.json: the OpenAPI 3.1 document, generated once from ``web.spec``."""

from __future__ import annotations

import orjson
from aiohttp import web

from web.http import JSON_CONTENT_TYPE
from web.spec.document import build_document
from web.spec.operations import OPENAPI_PATH

DOCUMENT = web.AppKey("openapi_document", bytes)


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=request.app[DOCUMENT], content_type=JSON_CONTENT_TYPE, charset="utf-8")


def setup(app: web.Application) -> None:
    app[DOCUMENT] = orjson.dumps(build_document())
    app.router.add_get(OPENAPI_PATH, openapi)
