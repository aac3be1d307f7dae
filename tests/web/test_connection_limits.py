"""Connections are bounded in time and number: half-sent heads and stalled bodies get 408, idle
connections close, past the limit new clients get a clean 503 while /healthz is still answered."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import pytest

from actors.system import Settings, build_system
from tests.web.raw_http import ask, closed_by_server, connect, read_answer, request
from web.app import create_app
from web.connection_limits import ConnectionLimits, derive_limits, exceeds_budget
from web.listener import ListenSite
from web.server import GuardedServer, PlugvisorRunner

STATE = "/api/v3/plugins/state"
TOGGLE = "/api/v3/plugins/toggle"
JSON = {"Content_Type": "application/json"}


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[int, GuardedServer]]:
    """The system behind the same runner and site run.py uses, on a free port."""
    system = build_system(settings)
    await system.tree.start()
    runner = PlugvisorRunner(create_app(system), derive_limits(settings), access_log=None)
    await runner.setup()
    try:
        site = ListenSite(runner, "127.0.0.1", 0)
        await site.start()
        assert isinstance(runner.server, GuardedServer)
        yield site.port, runner.server
    finally:
        await runner.cleanup()
        await system.tree.stop()


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def timeout_envelope(context: dict) -> dict:
    return {
        "status": "error",
        "error_code": "TIMEOUT",
        "error_category": "network",
        "message": "The request was not received in time",
        "context": context,
        "suggested_fixes": ["Try again in a moment"],
    }


def over_limit_envelope(max_connections: int) -> dict:
    return {
        "status": "error",
        "error_code": "SERVICE_UNAVAILABLE",
        "error_category": "system",
        "message": "The server has too many open connections",
        "context": {"max_connections": max_connections},
        "suggested_fixes": ["Try again in 5 seconds"],
    }


async def test_a_half_sent_request_head_is_answered_408_and_closed(
    with_settings: Callable[..., Settings],
) -> None:
    async with serving(with_settings(header_timeout_s=0.5)) as (port, _server):
        reader, writer = await connect(port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no blank line: unfinished
        started = time.monotonic()
        answer = await read_answer(reader, timeout=5)
        waited = time.monotonic() - started
        assert await closed_by_server(reader, timeout=5)
        writer.close()
    assert answer is not None and answer.status == 408
    assert answer.json() == timeout_envelope({"timeout_s": 0.5})
    assert 0.4 <= waited < 3


async def test_a_head_dripped_byte_by_byte_still_times_out(
    with_settings: Callable[..., Settings],
) -> None:
    async with serving(with_settings(header_timeout_s=0.6)) as (port, _server):
        reader, writer = await connect(port)
        started = time.monotonic()
        answering = asyncio.create_task(read_answer(reader, timeout=5))
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\n":  # bounded: 31 bytes, ~3 s
            if answering.done():
                break
            writer.write(bytes([byte]))
            await asyncio.sleep(0.1)
        answer = await answering
        writer.close()
    assert answer is not None and answer.status == 408
    assert time.monotonic() - started < 3


async def test_a_connection_that_never_sends_is_closed_without_an_answer(
    with_settings: Callable[..., Settings],
) -> None:
    async with serving(with_settings(header_timeout_s=0.3)) as (port, server):
        reader, writer = await connect(port)
        await wait_until(lambda: server.served == 1)
        assert await closed_by_server(reader, timeout=5)
        writer.close()
        await wait_until(lambda: server.open_connections == 0)


async def test_a_stalled_body_is_answered_408_and_closed(
    with_settings: Callable[..., Settings],
) -> None:
    async with serving(with_settings(body_timeout_s=0.5)) as (port, _server):
        reader, writer = await connect(port)
        full = request("POST", TOGGLE, b'{"plugin_id": "clock", "enabled": true}', **JSON)
        writer.write(full[:-10])  # the head and most of the body
        answer = await read_answer(reader, timeout=5)
        assert await closed_by_server(reader, timeout=5)
        writer.close()
    assert answer is not None and answer.status == 408
    assert answer.headers["connection"] == "close"
    assert answer.json() == timeout_envelope({"path": TOGGLE})


async def test_a_slow_but_steady_body_is_read_in_full(
    with_settings: Callable[..., Settings],
) -> None:
    async with serving(with_settings(body_timeout_s=0.5)) as (port, _server):
        reader, writer = await connect(port)
        full = request("POST", TOGGLE, b'{"plugin_id": "clock", "enabled": true}', **JSON)
        head, body = full.split(b"\r\n\r\n", 1)
        writer.write(head + b"\r\n\r\n")
        for index in range(0, len(body), 8):  # ~1.5 s in all, never 0.5 s without a byte
            await asyncio.sleep(0.3)
            writer.write(body[index : index + 8])
        answer = await read_answer(reader, timeout=5)
        writer.close()
    # The whole body arrived and was understood: clock is not installed here.
    assert answer is not None and (answer.status, answer.json()["error_code"]) == (
        404,
        "PLUGIN_NOT_FOUND",
    )


async def test_an_idle_kept_alive_connection_is_closed_after_the_keepalive_timeout(
    with_settings: Callable[..., Settings],
) -> None:
    async with serving(with_settings(keepalive_timeout_s=0.5, header_timeout_s=5)) as (port, _):
        reader, writer = await connect(port)
        writer.write(request("GET", "/healthz"))
        first = await read_answer(reader)
        writer.write(request("GET", "/healthz"))  # the connection is kept alive
        second = await read_answer(reader)
        started = time.monotonic()
        assert await closed_by_server(reader, timeout=5)
        writer.close()
    assert first is not None and second is not None and (first.body, second.body) == (b"ok", b"ok")
    assert 0.3 <= time.monotonic() - started < 3


async def test_past_the_limit_new_clients_get_503_and_healthz_and_old_clients_are_served(
    with_settings: Callable[..., Settings],
) -> None:
    settings = with_settings(max_connections=2, header_timeout_s=10)
    async with serving(settings) as (port, server):
        held = [await connect(port) for _ in range(2)]
        await wait_until(lambda: server.served == 2)

        refused = await ask(port, request("GET", STATE))
        health = await ask(port, request("GET", "/healthz"))
        reader, writer = held[0]
        writer.write(request("GET", STATE))  # a connection within the limit is served as ever
        kept = await read_answer(reader)

        for _reader, held_writer in held:
            held_writer.close()
        await wait_until(lambda: server.open_connections == 0)
        recovered = await ask(port, request("GET", STATE))
    assert refused is not None and refused.status == 503
    assert refused.headers["retry-after"] == "5" and refused.headers["connection"] == "close"
    assert refused.json() == over_limit_envelope(2)
    assert health is not None and (health.status, health.body) == (200, b"ok")
    assert health.headers["connection"] == "close"
    assert kept is not None and kept.status == 200
    assert recovered is not None and recovered.status == 200


async def test_past_the_hard_cap_the_server_stops_accepting_until_a_connection_closes(
    with_settings: Callable[..., Settings],
) -> None:
    settings = with_settings(max_connections=1, header_timeout_s=10)
    async with serving(settings) as (port, server):
        hard_cap = server.limits.hard_cap  # 1 served + 4 refusal slots
        clients = [await connect(port) for _ in range(hard_cap + 6)]
        await wait_until(lambda: server.open_connections == hard_cap)
        most = hard_cap
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:  # bounded: 0.3 s of samples
            most = max(most, server.open_connections)
            await asyncio.sleep(0.01)
        # Every client past the first is answered 503 within the overflow timeout (1 s)
        # once the server gets to it; none is left hanging.
        answers = await asyncio.gather(*(read_answer(r, timeout=15) for r, _ in clients[1:]))
        for _reader, writer in clients:
            writer.close()
    assert (hard_cap, most) == (5, 5)
    assert [answer.status if answer else None for answer in answers] == [503] * (hard_cap + 5)


def test_limits_are_derived_from_the_open_file_limit(settings: Settings) -> None:
    assert derive_limits(settings, nofile=256) == ConnectionLimits(
        max_connections=168, refusal_slots=24, overflow_timeout_s=1.0
    )
    assert derive_limits(settings, nofile=1024).hard_cap == 1024 - 128
    assert derive_limits(settings, nofile=1 << 20).max_connections == 1024
    assert derive_limits(settings, nofile=-1).max_connections == 1024  # RLIM_INFINITY


def test_a_configured_limit_wins_and_is_flagged_when_above_the_budget(
    with_settings: Callable[..., Settings],
) -> None:
    limits = derive_limits(with_settings(max_connections=500, header_timeout_s=0.5), nofile=256)
    assert (limits.max_connections, limits.refusal_slots) == (500, 62)
    assert limits.overflow_timeout_s == 0.5
    assert exceeds_budget(limits, nofile=256)
    assert not exceeds_budget(derive_limits(with_settings(), nofile=256), nofile=256)


@pytest.mark.parametrize("field", ["header_timeout_s", "body_timeout_s", "keepalive_timeout_s"])
def test_timeouts_come_from_settings(with_settings: Callable[..., Settings], field: str) -> None:
    assert getattr(derive_limits(with_settings(**{field: 2.5}), nofile=256), field) == 2.5
