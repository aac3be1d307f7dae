"""HTTP GETs for the registry and archives: timeouts, retries with backoff, a size cap, 304s."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import aiohttp
import structlog

from actors.errors import ErrorCode, PlugvisorError
from actors.installer.redact import redact_url

log = structlog.get_logger(__name__)

# Called with (bytes received, total bytes or None).
OnProgress = Callable[[int, int | None], Awaitable[None]]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Validators:
    """What a server said identifies the copy it sent (``ETag``, ``Last-Modified``)."""

    etag: str | None = None
    last_modified: str | None = None

    def conditions(self) -> dict[str, str]:
        """The request headers that ask for the body only if it changed since this copy."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


class _Retryable(Exception):
    def __init__(self, error: PlugvisorError) -> None:
        super().__init__(error.message)
        self.error = error


def _too_large(url: str, max_bytes: int) -> PlugvisorError:
    return PlugvisorError(
        ErrorCode.INVALID_INPUT,
        f"{redact_url(url)} is larger than {max_bytes // (1024 * 1024)} MiB",
        context={"limit": max_bytes},
    )


async def _get_once(
    url: str,
    timeout_s: float,
    max_bytes: int,
    sink: Callable[[bytes], Awaitable[None]],
    on_progress: OnProgress | None,
    conditions: dict[str, str] | None = None,
) -> Validators | None:
    """The validators of a 200 answer whose body went to ``sink``; None for a 304 to
    ``conditions``."""
    shown = redact_url(url)
    timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=min(timeout_s, 15.0))
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout, raise_for_status=False) as session,
            session.get(url, allow_redirects=True, max_redirects=5, headers=conditions) as response,
        ):
            if response.status == 304 and conditions:
                return None
            if response.status >= 500 or response.status == 429:
                raise _Retryable(
                    PlugvisorError(
                        ErrorCode.NETWORK_ERROR, f"{shown} answered HTTP {response.status}"
                    )
                )
            if response.status != 200:
                raise PlugvisorError(
                    ErrorCode.NETWORK_ERROR, f"{shown} answered HTTP {response.status}"
                )
            total = response.content_length
            if total is not None and total > max_bytes:
                raise _too_large(url, max_bytes)
            received = 0
            async for chunk in response.content.iter_chunked(256 * 1024):
                received += len(chunk)
                if received > max_bytes:
                    raise _too_large(url, max_bytes)
                await sink(chunk)
                if on_progress is not None:
                    await on_progress(received, total)
            return Validators(response.headers.get("ETag"), response.headers.get("Last-Modified"))
    except TimeoutError:
        raise _Retryable(
            PlugvisorError(ErrorCode.TIMEOUT, f"{shown} did not answer within {timeout_s:g} s")
        ) from None
    except aiohttp.ClientError as exc:
        raise _Retryable(
            PlugvisorError(
                ErrorCode.NETWORK_ERROR, f"{shown} could not be reached ({type(exc).__name__})"
            )
        ) from None


async def _with_retries(
    url: str,
    attempts: int,
    backoff_s: float,
    once: Callable[[], Awaitable[T]],
    reset: Callable[[], Awaitable[None]],
) -> T:
    for attempt in range(1, max(1, attempts) + 1):
        try:
            return await once()
        except _Retryable as exc:
            log.info(
                "http_attempt_failed", url=redact_url(url), attempt=attempt, error=exc.error.message
            )
            if attempt >= attempts:
                raise exc.error from None
            await reset()
            await asyncio.sleep(backoff_s * attempt)
    raise AssertionError("unreachable: the last attempt returns or raises")


async def fetch_bytes(
    url: str, *, timeout_s: float, max_bytes: int, attempts: int = 3, backoff_s: float = 0.75
) -> bytes:
    """The body of a 200 answer; ``NETWORK_ERROR``, ``TIMEOUT`` or ``INVALID_INPUT`` (too big)."""
    fetched = await fetch_if_changed(
        url, None, timeout_s=timeout_s, max_bytes=max_bytes, attempts=attempts, backoff_s=backoff_s
    )
    assert fetched is not None  # nothing to compare with: never a 304
    return fetched[0]


async def fetch_if_changed(
    url: str,
    known: Validators | None,
    *,
    timeout_s: float,
    max_bytes: int,
    attempts: int = 3,
    backoff_s: float = 0.75,
) -> tuple[bytes, Validators] | None:
    """A conditional GET: None when the server answers 304 Not Modified to ``known``, else
    the body of its 200 answer and the validators it sent. Errors as :func:`fetch_bytes`."""
    parts: list[bytes] = []
    conditions = known.conditions() if known else None

    async def sink(chunk: bytes) -> None:
        parts.append(chunk)

    async def reset() -> None:
        parts.clear()

    async def once() -> Validators | None:
        return await _get_once(url, timeout_s, max_bytes, sink, None, conditions or None)

    validators = await _with_retries(url, attempts, backoff_s, once, reset)
    return None if validators is None else (b"".join(parts), validators)


async def download_file(
    url: str,
    dest: Path,
    *,
    timeout_s: float,
    max_bytes: int,
    attempts: int = 3,
    backoff_s: float = 0.75,
    on_progress: OnProgress | None = None,
) -> None:
    """Stream a 200 answer into ``dest`` (replaced on each attempt), never past ``max_bytes``."""

    import aiofiles  # loaded by the first download, not at start

    async def once() -> None:
        async with aiofiles.open(dest, "wb") as out:

            async def sink(chunk: bytes) -> None:
                await out.write(chunk)

            await _get_once(url, timeout_s, max_bytes, sink, on_progress)

    async def reset() -> None:
        pass  # ``once`` truncates the file when it opens it again

    await _with_retries(url, attempts, backoff_s, once, reset)
