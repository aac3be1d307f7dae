"""Every error, the framework's own included, leaves as the v3 error envelope."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from actors.errors import ErrorCode, PlugvisorError
from supervision import ActorCrashed, ActorStopped, AskTimeout, MailboxFull
from web.errors import error_body, status_for
from web.http import json_response

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTTP_CODES: dict[int, tuple[ErrorCode, str]] = {
    400: (ErrorCode.INVALID_INPUT, "The request is not valid"),
    401: (ErrorCode.UNAUTHORIZED, "Authentication is required"),
    403: (ErrorCode.FORBIDDEN, "This request is not allowed"),
    404: (ErrorCode.NOT_FOUND, "No such resource"),
    405: (ErrorCode.METHOD_NOT_ALLOWED, "Method not allowed on this resource"),
    408: (ErrorCode.TIMEOUT, "The request was not received in time"),
    413: (ErrorCode.PAYLOAD_TOO_LARGE, "Request body is too large"),
    503: (ErrorCode.SERVICE_UNAVAILABLE, "The service is not ready"),
}


def error_response(error: PlugvisorError, headers: dict[str, str] | None = None) -> web.Response:
    return json_response(error_body(error), status=status_for(error), headers=headers)


def _from_http_exception(request: web.Request, exc: web.HTTPException) -> web.Response:
    code, message = _HTTP_CODES.get(exc.status, (ErrorCode.UNKNOWN_ERROR, exc.reason))
    context: dict[str, object] = {"path": request.path}
    headers: dict[str, str] = {}
    if exc.status == 405 and isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = sorted(exc.allowed_methods)
        context["allowed_methods"] = allowed
        headers["Allow"] = ", ".join(allowed)
    if exc.status == 503:
        headers["Retry-After"] = "5"
    error = PlugvisorError(code, message, context=context)
    response = json_response(error_body(error), status=exc.status, headers=headers)
    return response


@web.middleware
async def envelope_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except PlugvisorError as exc:
        headers = {"Retry-After": "5"} if exc.code is ErrorCode.SERVICE_UNAVAILABLE else None
        return error_response(exc, headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _from_http_exception(request, exc)
    except AskTimeout as exc:
        log.warning("actor_timeout", path=request.path, error=str(exc))
        return error_response(
            PlugvisorError(ErrorCode.TIMEOUT, "The supervisor did not answer in time")
        )
    except (ActorStopped, MailboxFull) as exc:
        log.warning("actor_unavailable", path=request.path, error=str(exc))
        return error_response(
            PlugvisorError(
                ErrorCode.SERVICE_UNAVAILABLE, "The supervisor is busy or restarting a component"
            ),
            {"Retry-After": "5"},
        )
    except ActorCrashed as exc:
        log.error("actor_crashed_during_request", path=request.path, error=str(exc))
        return error_response(
            PlugvisorError(
                ErrorCode.SYSTEM_ERROR,
                "A component failed while handling the request; it is being restarted",
            )
        )
    except ConnectionError:
        if request.transport is not None:
            return _unexpected(request)
        # The client went away mid-request (usually mid-body): nobody is left to answer.
        log.info("client_disconnected", path=request.path, method=request.method)
        return error_response(
            PlugvisorError(ErrorCode.INVALID_INPUT, "The request was not received in full")
        )
    except Exception:
        return _unexpected(request)


def _unexpected(request: web.Request) -> web.Response:
    log.exception("unhandled_request_error", path=request.path, method=request.method)
    return error_response(PlugvisorError(ErrorCode.UNKNOWN_ERROR, "An unexpected error occurred"))
