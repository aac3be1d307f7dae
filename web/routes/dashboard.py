"""The dashboard: GET / (index.html) and GET /dashboard/{name} (its scripts and styles).

The files are read once, when the app is created (web.dashboard_assets); they need no token,
since they hold no data: everything shown comes from /api/v3 and the status feed.
"""

from __future__ import annotations

from aiohttp import web

from actors.errors import ErrorCode, PlugvisorError
from web.dashboard_assets import Asset, load_assets

ASSETS = web.AppKey("dashboard_assets", dict[str, Asset])
# Everything from this origin only: no inline script, no CDN, no framing by another site.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidated with the ETag: an upgrade is seen at once
}


def _serve(request: web.Request, name: str) -> web.Response:
    asset = request.app[ASSETS].get(name)
    if asset is None:
        raise PlugvisorError(
            ErrorCode.NOT_FOUND, "No such dashboard file", context={"path": request.path}
        )
    headers = {**SECURITY_HEADERS, "ETag": asset.etag}
    if request.headers.get("If-None-Match") == asset.etag:
        return web.Response(status=304, headers=headers)
    return web.Response(
        body=asset.body, content_type=asset.content_type, charset="utf-8", headers=headers
    )


async def index(request: web.Request) -> web.Response:
    return _serve(request, "index.html")


async def asset(request: web.Request) -> web.Response:
    return _serve(request, request.match_info["name"])


def setup(app: web.Application) -> None:
    app[ASSETS] = load_assets()
    app.router.add_get("/", index)
    app.router.add_get("/dashboard/{name}", asset)
