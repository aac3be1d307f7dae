"""Who may use the API: the token, the open paths, and same-origin writes (the first middleware).

The rules, in the order they are applied to every request:

1. A write (POST, PUT, PATCH, DELETE) or a WebSocket handshake whose ``Origin`` header is
   present and is not this server's own (scheme, host and port of the request) is refused
   with 403 ``FORBIDDEN``, token or not: a page on another site cannot drive the device.
2. Only ``/api/v3`` needs a token, less ``OPEN_API_PATHS``; ``/healthz``, the dashboard at
   ``/`` and its assets are outside it. This is the one list of open paths.
3. With no token configured (a loopback bind, ``Mode.OPEN``) the API is open to requests whose
   ``Host`` is a loopback name or address (anything else is 403: a DNS-rebinding page).
4. Otherwise ``Authorization: Bearer <token>`` (on ``/api/v3/ws`` also ``?token=``), compared
   in constant time. Missing: 401. Wrong: 401, and counted against the client's address
   (``web.auth_limits``); ``max_failures`` wrong ones in a window make every request of
   that address 401 with ``Retry-After`` (and ``context.retry_after_s``) until it passes.

An authorised request is marked ``request[keys.USER] = "token"`` (else ``"local"``): the
history's ``user``. The token itself is never logged or recorded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from aiohttp import hdrs, web
from yarl import URL

from actors.access import AccessToken, Mode, exposed
from actors.errors import ErrorCode, PlugvisorError
from web import keys
from web.auth_limits import FailureLimiter
from web.middleware import error_response

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]

API_PREFIX = "/api/v3"
# Paths under /api/v3 that need no token (the API's own description).
OPEN_API_PATHS = frozenset({"/api/v3/openapi.json"})
WS_PATH = "/api/v3/ws"  # the one path that may carry the token as ?token=
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
USER_TOKEN = "token"  # noqa: S105 - the history's user name for a token holder
USER_LOCAL = "local"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="plugvisor"'}


def request_user(request: web.Request) -> str:
    """What the history records as ``user``: ``token`` or ``local`` (never the token)."""
    return request.get(keys.USER, USER_LOCAL)


def needs_token(path: str) -> bool:
    under_api = path == API_PREFIX or path.startswith(API_PREFIX + "/")
    return under_api and path not in OPEN_API_PATHS


def same_origin(origin: str, request_url: URL) -> bool:
    """Whether an ``Origin`` header names the server the request was sent to."""
    try:
        url = URL(origin)
    except (ValueError, TypeError):
        return False
    if not url.absolute or url.host is None or url.path not in ("", "/"):
        return False
    return (url.scheme.lower(), url.host.lower(), url.port) == (
        request_url.scheme.lower(),
        (request_url.host or "").lower(),
        request_url.port,
    )


def presented_token(request: web.Request) -> str | None:
    header = request.headers.get(hdrs.AUTHORIZATION)
    if header is not None:
        scheme, _, value = header.strip().partition(" ")
        return value.strip() if scheme.lower() == "bearer" else ""
    if request.path == WS_PATH and "token" in request.query:
        return request.query["token"]
    return None


def _is_handshake(request: web.Request) -> bool:
    return request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"


def _refuse(
    code: ErrorCode,
    message: str,
    request: web.Request,
    *,
    headers: dict[str, str] | None = None,
    **context: object,
) -> web.Response:
    error = PlugvisorError(code, message, context={"path": request.path, **context})
    return error_response(error, headers)


def access_middleware(access: AccessToken, limiter: FailureLimiter) -> Middleware:
    @web.middleware
    async def check_access(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get(hdrs.ORIGIN)
        if (
            origin is not None
            and (request.method in WRITE_METHODS or _is_handshake(request))
            and not same_origin(origin, request.url)
        ):
            log.warning("cross_origin_refused", path=request.path, method=request.method)
            return _refuse(
                ErrorCode.FORBIDDEN, "Requests from another site's page are refused", request
            )
        request[keys.USER] = USER_LOCAL
        if not needs_token(request.path):
            return await handler(request)
        mode = access.mode
        if mode is Mode.OPEN:
            if exposed(request.url.host or ""):
                return _refuse(
                    ErrorCode.FORBIDDEN,
                    "Without an API token only loopback host names are served",
                    request,
                )
            return await handler(request)
        remote = request.remote
        wait = limiter.retry_after(remote)
        if wait is not None:
            return _too_many(request, wait)
        if mode is Mode.LOCKED:
            return _refuse(
                ErrorCode.UNAUTHORIZED,
                "The API token file cannot be used; the API is locked until it is fixed",
                request,
                headers=_CHALLENGE,
            )
        token = presented_token(request)
        if token is None:
            return _refuse(
                ErrorCode.UNAUTHORIZED,
                "An API token is required (Authorization: Bearer <token>)",
                request,
                headers=_CHALLENGE,
            )
        if not access.matches(token):
            # The whole target (the log redactor masks a ?token= in it) tells what was tried.
            log.warning("api_token_refused", target=request.path_qs, remote=remote)
            wait = limiter.failed(remote)
            if wait is not None:
                return _too_many(request, wait)
            return _refuse(
                ErrorCode.UNAUTHORIZED, "The API token is not valid", request, headers=_CHALLENGE
            )
        limiter.succeeded(remote)
        request[keys.USER] = USER_TOKEN
        return await handler(request)

    return check_access


def _too_many(request: web.Request, wait: int) -> web.Response:
    return _refuse(
        ErrorCode.UNAUTHORIZED,
        "Too many wrong API tokens from this address; try again later",
        request,
        headers={**_CHALLENGE, "Retry-After": str(wait)},
        retry_after_s=wait,
    )
