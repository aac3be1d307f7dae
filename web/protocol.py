"""One HTTP connection: aiohttp's request handler with read timeouts, an over-the-limit mode, and
the errors aiohttp answers before any middleware runs (bad request line, timeouts) enveloped."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import http_exceptions, web
from aiohttp.streams import EMPTY_PAYLOAD, StreamReader
from aiohttp.web_protocol import RequestHandler, _ErrInfo

from actors.errors import ErrorCode, PlugvisorError
from web.connection_limits import ConnectionLimits
from web.errors import error_body
from web.http import json_response

if TYPE_CHECKING:
    from web.server import GuardedServer

log = structlog.get_logger(__name__)

HEALTHZ = "/healthz"  # answered even on a connection past the limit


class RequestHeadTimeout(Exception):
    """The request line and headers did not arrive in full within the header timeout."""


class OverLimit(Exception):
    """The connection came in past the connection limit."""


def over_limit_error(limits: ConnectionLimits) -> PlugvisorError:
    return PlugvisorError(
        ErrorCode.SERVICE_UNAVAILABLE,
        "The server has too many open connections",
        context={"max_connections": limits.max_connections},
        suggested_fixes=[f"Try again in {limits.retry_after_s} seconds"],
    )


class GuardedRequestHandler(RequestHandler):
    """aiohttp's connection protocol, bounded in time and answering in the v3 envelope.

    - The request line and headers must arrive within ``header_timeout_s`` of the connection
      opening (or of the first byte of a later request on a kept-alive connection): a
      partial head is answered 408, a connection that never sent a byte is just closed.
    - A body that receives nothing for ``body_timeout_s`` (while we are reading it) fails
      the handler's read with 408; the connection then closes.
    - Past ``max_connections`` a connection may only ask ``/healthz``; anything else is
      answered 503 with ``Retry-After``, and the connection closes after one answer.
    """

    __slots__ = (
        "_body",
        "_body_deadline",
        "_body_timer",
        "_counted",
        "_guard",
        "_head_bytes",
        "_head_timer",
        "_limits",
        "_overflow",
    )

    def __init__(self, manager: GuardedServer, *, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._guard = manager
        self._limits = limits
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes = False
        self._body: StreamReader | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_deadline = 0.0
        self._overflow = False
        self._counted = False

    # -- connection lifetime ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._overflow = not self._guard.admit()
        self._counted = True
        if self._overflow:
            log.warning("connection_over_limit", max_connections=self._limits.max_connections)
            self._request_handler = self._answer_over_limit
        super().connection_made(transport)
        limits = self._limits
        timeout = limits.overflow_timeout_s if self._overflow else limits.header_timeout_s
        self._arm_head_timer(timeout)

    def connection_lost(self, exc: BaseException | None) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None
        self._body = None
        if self._counted:
            self._counted = False
            self._guard.release(overflow=self._overflow)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._force_close or self._close:
            return
        parsed = self._request_count
        waiting = self._waiter is not None  # between requests: start() waits for the next one
        super().data_received(data)
        if self._request_count != parsed:  # a complete head (or a parse error) arrived
            self._cancel_head_timer()
            self._head_bytes = False
            payload = self._messages[-1][1] if self._messages else None
            self._body = payload if payload is not None and not payload.is_eof() else None
            if self._body is not None:
                self._touch_body()
        elif self._body is not None:
            if self._body.is_eof():
                self._body = None
            else:
                self._touch_body()
        elif data:
            self._head_bytes = True
            if waiting and self._head_timer is None:
                self._arm_head_timer(self._limits.header_timeout_s)

    async def finish_response(
        self, request: web.BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        if resp is not None and (self._close or self._overflow):
            resp.force_close()  # say "Connection: close": nothing more is read from this one
        return await super().finish_response(request, resp, start_time)

    # -- the request head ---------------------------------------------------------------

    def _arm_head_timer(self, timeout: float) -> None:
        self._cancel_head_timer()
        self._head_timer = self._loop.call_later(timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        waiter = self._waiter
        if self._force_close or self._close or self._messages:
            return
        if waiter is None or waiter.done():
            return
        if self._overflow:
            status, exc = 503, OverLimit()
        elif self._head_bytes:
            status, exc = 408, RequestHeadTimeout()
            log.info("request_head_timeout", timeout_s=self._limits.header_timeout_s)
        else:
            self.force_close()  # opened and never used: nothing to answer
            return
        # Answer through aiohttp's own path for unparsable requests (handle_error below),
        # then close: the partial head is never read further.
        self._messages.append((_ErrInfo(status=status, exc=exc, message=""), EMPTY_PAYLOAD))
        self._close = True
        waiter.set_result(None)

    # -- the request body ---------------------------------------------------------------

    def _touch_body(self) -> None:
        self._body_deadline = self._loop.time() + self._limits.body_timeout_s
        if self._body_timer is None:
            self._body_timer = self._loop.call_at(self._body_deadline, self._body_timed_out)

    def _body_timed_out(self) -> None:
        self._body_timer = None
        payload = self._body
        if payload is None or payload.is_eof() or self._force_close or self._close:
            return
        now = self._loop.time()
        if self._reading_paused or getattr(self, "_buffer_paused", False):
            # The reader is behind and aiohttp stopped reading: we hold the client back.
            self._body_deadline = now + self._limits.body_timeout_s
        if now < self._body_deadline:
            self._body_timer = self._loop.call_at(self._body_deadline, self._body_timed_out)
            return
        self._body = None
        if not self._request_in_progress:
            return  # after the answer aiohttp drains the rest for lingering_time, no longer
        request = self._current_request
        log.info(
            "request_body_timeout",
            timeout_s=self._limits.body_timeout_s,
            path=request.path if request is not None else None,
        )
        self._close = True  # read nothing more; the connection closes after the answer
        payload.set_exception(web.HTTPRequestTimeout())
        payload.feed_eof()  # so aiohttp does not wait for the rest after the answer

    # -- answers aiohttp makes itself -----------------------------------------------------

    async def _answer_over_limit(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.path == HEALTHZ:
            return await self._guard.request_handler(request)
        return self._over_limit_response()

    def _over_limit_response(self) -> web.Response:
        return json_response(
            error_body(over_limit_error(self._limits)),
            status=503,
            headers={"Retry-After": str(self._limits.retry_after_s)},
        )

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """The v3 envelope for what aiohttp answers outside the application: unparsable
        requests (400), our read timeouts (408, 503) and a failure of the handler chain."""
        if request.writer.output_size > 0:
            raise ConnectionError("the response has started; no error answer is possible")
        if status == 503:
            response = self._over_limit_response()
        else:
            response = json_response(error_body(self._error_for(status, exc)), status=status)
        response.force_close()
        return response

    def _error_for(self, status: int, exc: BaseException | None) -> PlugvisorError:
        if status == 400:
            quiet = self._request_count == 1 and isinstance(exc, http_exceptions.BadHttpMethod)
            (log.debug if quiet else log.info)("bad_http_request", reason=type(exc).__name__)
            if isinstance(exc, http_exceptions.LineTooLong):
                return PlugvisorError(
                    ErrorCode.INVALID_INPUT,
                    "The request line or a header is too long",
                    context={"limit_bytes": self.max_line_size},
                )
            return PlugvisorError(ErrorCode.INVALID_INPUT, "The request is not valid HTTP")
        if status == 408:
            return PlugvisorError(
                ErrorCode.TIMEOUT,
                "The request was not received in time",
                context={"timeout_s": self._limits.header_timeout_s},
            )
        if status == 504:
            return PlugvisorError(ErrorCode.TIMEOUT, "The request took too long to answer")
        log.error("request_failed", status=status, exc_info=exc)
        return PlugvisorError(ErrorCode.UNKNOWN_ERROR, "An unexpected error occurred")
