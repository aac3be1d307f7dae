"""The event loop's exception handler: asyncio's errors as structured, rate-limited lines."""

from __future__ import annotations

import asyncio
import errno
from typing import Any

import structlog

log = structlog.get_logger("plugvisor.asyncio")

# Out of file descriptors or socket buffers: the accept loop backs off and retries.
RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
# A peer that went away: routine on any server, never worth a traceback.
_PEER_GONE = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError, TimeoutError)


def handle_loop_error(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Log what asyncio reports; tracebacks only for errors that are not known to be harmless.

    Every line goes through the log's repeat filter, so an error raised in a tight loop
    (asyncio's ``socket.accept() out of system resource``) costs a few lines, not gigabytes.
    """
    message = str(context.get("message") or "unhandled error in the event loop")
    exc = context.get("exception")
    if isinstance(exc, OSError) and exc.errno in RESOURCE_ERRNOS:
        log.warning(
            "loop_out_of_resources",
            message=message,
            errno=errno.errorcode.get(exc.errno or 0, str(exc.errno)),
            error=exc.strerror,
        )
    elif isinstance(exc, _PEER_GONE):
        log.info("loop_connection_lost", message=message, error=type(exc).__name__)
    elif exc is None:
        log.warning("loop_error", message=message)
    else:
        log.error("loop_error", message=message, exc_info=exc)
