"""The status feed over a real server: snapshot, events in order, since=, client messages,
a stalled subscriber next to a healthy one, and shutdown."""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import re
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.web.plugin_env import PluginEnv, RunningApi, make_env
from web.feed_session import FeedOptions, FeedSession
from web.routes.feed import FEED_SESSIONS

WS = "/api/v3/ws"
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
_HEX40 = re.compile(r"[0-9a-f]{40}")


@pytest.fixture
def env(tmp_path: Path) -> PluginEnv:
    return make_env(tmp_path)


@pytest.fixture
async def api(env: PluginEnv) -> AsyncIterator[RunningApi]:
    async with RunningApi(env.settings()) as running_api:
        yield running_api


def normalise(value: Any, env: PluginEnv, names: dict[str, str]) -> Any:
    """Times, ids, commits and the temporary root replaced by stable placeholders."""
    if isinstance(value, dict):
        return {key: normalise(item, env, names) for key, item in value.items()}
    if isinstance(value, list):
        return [normalise(item, env, names) for item in value]
    if isinstance(value, str):
        if value in names:
            return names[value]
        value = _TIME.sub("<time>", value).replace(str(env.root), "<root>")
        return _HEX40.sub("<commit>", value)
    return value


async def receive(ws: aiohttp.ClientWebSocketResponse, timeout: float = 10.0) -> dict[str, Any]:
    message = await ws.receive(timeout=timeout)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    return message.json()


async def receive_until(
    ws: aiohttp.ClientWebSocketResponse, done: Any, limit: int = 200
) -> list[dict[str, Any]]:
    """Messages up to and including the first for which ``done`` is true (bounded)."""
    seen: list[dict[str, Any]] = []
    for _ in range(limit):
        seen.append(await receive(ws))
        if done(seen[-1]):
            return seen
    raise AssertionError(f"no closing message in {limit}: {seen[-3:]}")


def assert_consecutive(start: int, messages: list[dict[str, Any]]) -> None:
    assert [m["seq"] for m in messages] == list(range(start + 1, start + 1 + len(messages)))


EMPTY_HEALTH = {"status": "ok", "reasons": []}


async def test_snapshot_on_connect_is_exact(api: RunningApi) -> None:
    async with api.client.ws_connect(WS) as ws:
        first = await receive(ws)
    assert first == {
        "type": "snapshot",
        "seq": 0,
        "data": {"plugins": {}, "operations": [], "health": EMPTY_HEALTH},
    }


async def test_snapshot_carries_installed_plugins_at_the_bus_seq(api: RunningApi) -> None:
    status, body = await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": "clock"})
    assert status == 200, body
    status, state = await api.get("/api/v3/plugins/state?plugin_id=clock")
    assert status == 200
    async with api.client.ws_connect(WS) as ws:
        snapshot = await receive(ws)
    assert snapshot == {
        "type": "snapshot",
        "seq": api.system.bus.seq,
        "data": {"plugins": {"clock": state["data"]}, "operations": [], "health": EMPTY_HEALTH},
    }


INSTALL_STEPS = [
    ("pending", "queued", 0.0, "Queued"),
    ("running", "queued", 0.0, "Started"),
    ("running", "resolving", 0.0, "Looking the plugin up in the registry"),
    ("running", "resolving", 0.1, "Found Plugin clock in the registry"),
    ("running", "downloading", 0.1, "Cloning file://…/clock"),
    ("running", "downloading", 0.46, "Cloned commit "),  # then the commit's first 12 digits
    ("running", "verifying", 0.5, "Checking manifest.json and compatibility"),
    ("running", "verifying", 0.6, "Plugin clock 1.0.0 is compatible"),
    ("running", "installing_dependencies", 0.85, "No Python dependencies to install"),
    ("running", "activating", 0.91, "Moving the new copy into place"),
    ("running", "activating", 0.955, "Checking the new copy in place"),
    ("running", "activating", 1.0, "Plugin clock 1.0.0 is installed"),
    ("completed", "done", 1.0, "Plugin clock 1.0.0 installed"),
]


def _source(env: PluginEnv) -> dict[str, Any]:
    return {
        "type": "registry",
        "url": "file://<root>/repos/clock",
        "branch": "main",
        "commit": "<commit>",
        "plugin_path": None,
        "registry_id": "clock",
        "requested_branch": None,
        "archive_sha256": None,
        "archive_name": None,
    }


async def test_install_publishes_every_stage_in_order_then_config_and_state(
    api: RunningApi, env: PluginEnv
) -> None:
    async with api.client.ws_connect(WS) as ws:
        snapshot = await receive(ws)
        status, body = await api.post("/api/v3/plugins/install", {"plugin_id": "clock"})
        assert status == 202, body
        op_id = body["data"]["operation_id"]
        events = await receive_until(ws, lambda m: m.get("event") == "plugin_state")

    assert_consecutive(snapshot["seq"], events)
    assert {m["type"] for m in events} == {"event"}
    names = {op_id: "<op>"}
    events = normalise(events, env, names)
    operations = [m["data"] for m in events if m["event"] == "operation"]
    steps = [(o["status"], o["stage"], o["progress"], o["message"]) for o in operations]
    assert steps[:5] == INSTALL_STEPS[:5]
    assert steps[5][:3] == INSTALL_STEPS[5][:3]
    assert re.fullmatch(r"Cloned commit [0-9a-f]{12}", steps[5][3])
    assert steps[6:] == INSTALL_STEPS[6:]
    assert [m["event"] for m in events] == ["operation"] * 12 + [
        "config",
        "operation",
        "plugin_state",
    ]
    assert operations[0] == {
        "operation_id": "<op>",
        "operation_type": "install",
        "plugin_id": "clock",
        "parameters": {},
        "status": "pending",
        "progress": 0.0,
        "stage": "queued",
        "message": "Queued",
        "error": None,
        "result": None,
        "created_at": "<time>",
        "started_at": None,
        "completed_at": None,
        "position": 0,
    }
    config_event = events[12]["data"]
    backup_id = config_event.pop("backup_id")
    assert isinstance(backup_id, str) and backup_id
    assert config_event == {
        "kind": "config_ensure",
        "plugin_id": "clock",
        "generation": 2,
        "status": "completed",
        "error": None,
        "user": "local",
        "enabled": {"clock": True},
    }
    assert operations[-1]["result"] == {
        "plugin_id": "clock",
        "requested_id": None,
        "version": "1.0.0",
        "name": "Plugin clock",
        "previous_version": None,
        "updated": True,
        "dependencies_installed": False,
        "source": _source(env),
        "enabled": True,
        "message": "Plugin clock 1.0.0 installed",
    }
    assert operations[-1]["completed_at"] == "<time>"
    assert events[-1]["data"] == {
        "plugin_id": "clock",
        "state": {
            "plugin_id": "clock",
            "status": "enabled",
            "enabled": True,
            "version": "1.0.0",
            "installed_at": "<time>",
            "last_updated": "<time>",
            "config_version": 2,
            "last_operation_id": "<op>",
            "health": "unknown",
            "metadata": {"source": _source(env), "configured": True},
        },
        "change": "operation",
    }


async def test_toggle_publishes_config_then_plugin_state(api: RunningApi, env: PluginEnv) -> None:
    status, body = await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": "clock"})
    assert status == 200, body
    async with api.client.ws_connect(WS) as ws:
        snapshot = await receive(ws)
        before = snapshot["data"]["plugins"]["clock"]
        status, _ = await api.post(
            "/api/v3/plugins/toggle", {"plugin_id": "clock", "enabled": False}
        )
        assert status == 200
        events = await receive_until(ws, lambda m: m.get("event") == "plugin_state")
    assert_consecutive(snapshot["seq"], events)
    config_event, state_event = events
    assert config_event["event"] == "config"
    backup_id = config_event["data"].pop("backup_id")
    assert isinstance(backup_id, str) and backup_id
    assert config_event["data"] == {
        "kind": "disable",
        "plugin_id": "clock",
        "generation": 3,
        "status": "completed",
        "error": None,
        "user": "local",
        "enabled": {"clock": False},
    }
    after = {**before, "status": "disabled", "enabled": False, "config_version": 3}
    assert state_event["data"] == {"plugin_id": "clock", "state": after, "change": "config"}


def _publish(api: RunningApi, count: int, pad: int = 0) -> None:
    for n in range(count):
        api.system.bus.publish("reconcile", {"n": n, "pad": "x" * pad})


async def test_since_replays_the_buffered_events(api: RunningApi) -> None:
    _publish(api, 5)
    async with api.client.ws_connect(f"{WS}?since=2") as ws:
        replay = [await receive(ws) for _ in range(3)]
        await ws.send_json({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}  # nothing else came first
    assert replay == [
        {"type": "event", "seq": seq, "event": "reconcile", "data": {"n": seq - 1, "pad": ""}}
        for seq in (3, 4, 5)
    ]


async def test_since_up_to_date_sends_nothing_until_the_next_event(api: RunningApi) -> None:
    _publish(api, 3)
    async with api.client.ws_connect(f"{WS}?since=3") as ws:
        await ws.send_json({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}
        _publish(api, 1)
        assert await receive(ws) == {
            "type": "event",
            "seq": 4,
            "event": "reconcile",
            "data": {"n": 0, "pad": ""},
        }


@pytest.mark.parametrize("since", ["1", "999999"])  # evicted from the ring; from an earlier run
async def test_since_that_cannot_be_replayed_starts_with_a_snapshot(
    api: RunningApi, since: str
) -> None:
    _publish(api, 1100)  # the bus keeps the last 1024
    async with api.client.ws_connect(f"{WS}?since={since}") as ws:
        first = await receive(ws)
    assert first == {
        "type": "snapshot",
        "seq": 1100,
        "data": {"plugins": {}, "operations": [], "health": EMPTY_HEALTH},
    }


@pytest.mark.parametrize("since", ["-1", "abc", "1.5", "", "99999999999999999999"])
async def test_invalid_since_is_refused_before_the_upgrade(api: RunningApi, since: str) -> None:
    response = await api.client.get(f"{WS}?since={since}", headers=_upgrade_headers())
    body = await response.json()
    assert response.status == 400
    assert body["error_code"] == "INVALID_INPUT"
    assert body["context"]["field"] == "since"


async def test_plain_get_without_upgrade_is_a_400(api: RunningApi) -> None:
    status, body = await api.get(WS)
    assert status == 400 and body["error_code"] == "INVALID_INPUT"


async def test_ping_is_answered_and_bad_messages_get_errors_without_a_disconnect(
    api: RunningApi,
) -> None:
    async with api.client.ws_connect(WS) as ws:
        await receive(ws)  # snapshot
        await ws.send_str("not json")
        await ws.send_json({"type": "subscribe"})
        await ws.send_json([1, 2])
        await ws.send_bytes(b"\x00\x01")
        await ws.send_json({"type": "ping"})
        replies = [await receive(ws) for _ in range(5)]
        assert not ws.closed
    assert replies == [
        {"type": "error", "error_code": "INVALID_INPUT", "message": _NOT_JSON},
        {"type": "error", "error_code": "INVALID_INPUT", "message": _UNKNOWN},
        {"type": "error", "error_code": "INVALID_INPUT", "message": _UNKNOWN},
        {"type": "error", "error_code": "INVALID_INPUT", "message": _BINARY},
        {"type": "pong"},
    ]


_NOT_JSON = "The message is not valid JSON"
_UNKNOWN = 'Unknown message; the only one understood is {"type": "ping"}'
_BINARY = "Only text frames holding JSON are understood"


async def test_oversized_client_message_closes_with_1009(api: RunningApi) -> None:
    async with api.client.ws_connect(WS) as ws:
        await receive(ws)
        await ws.send_str("x" * (FeedOptions().max_client_message + 1))
        message = await ws.receive(timeout=10.0)
    assert message.type is aiohttp.WSMsgType.CLOSE and message.data == 1009


async def test_snapshots_and_events_stay_consecutive_while_events_pour_in(
    env: PluginEnv,
) -> None:
    """Clients connecting mid-stream each get a snapshot at S, then exactly S+1, S+2, ...

    Each subscriber's queue holds more than everything published here, so a client the
    machine's load slows down is never resynchronised (overflow is tested on its own).
    """
    async with RunningApi(env.settings(), feed_options=FeedOptions(queue_size=8192)) as api:
        await _consecutive_while_pouring(api)


async def _consecutive_while_pouring(api: RunningApi) -> None:
    stop = asyncio.Event()

    async def publisher() -> None:
        deadline = time.monotonic() + 30  # bounded in time, not in count: it must outlast
        while not stop.is_set() and time.monotonic() < deadline:  # the five clients
            _publish(api, 3)
            await asyncio.sleep(0.001)

    task = asyncio.create_task(publisher())
    try:
        for _ in range(5):
            async with api.client.ws_connect(WS) as ws:
                snapshot = await receive(ws)
                assert snapshot["type"] == "snapshot"
                events = [await receive(ws) for _ in range(30)]
                assert_consecutive(snapshot["seq"], events)
    finally:
        stop.set()
        await task


def _upgrade_headers() -> dict[str, str]:
    return {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
    }


async def _stalled_client(port: int) -> socket.socket:
    """A WebSocket client with a tiny receive buffer that upgrades and then never reads."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    head = "".join(f"{k}: {v}\r\n" for k, v in _upgrade_headers().items())
    request = f"GET {WS} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{head}\r\n"
    await loop.sock_sendall(sock, request.encode())
    answer = b""
    async with asyncio.timeout(10):
        while b"\r\n\r\n" not in answer:
            chunk = await loop.sock_recv(sock, 1)  # byte by byte: leave the frames unread
            assert chunk, "server closed during the handshake"
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


async def _wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_a_stalled_subscriber_is_closed_with_1013_while_a_healthy_one_gets_everything(
    env: PluginEnv,
) -> None:
    options = FeedOptions(
        queue_size=16, send_timeout_s=0.3, resync_limit=2, close_timeout_s=0.3, writer_limit=4096
    )
    async with RunningApi(env.settings(), feed_options=options) as api:
        sessions: set[FeedSession] = api.client.server.app[FEED_SESSIONS]
        async with api.client.ws_connect(WS) as healthy:
            start = (await receive(healthy))["seq"]
            await _wait_for(lambda: len(sessions) == 1)
            [healthy_session] = sessions
            sock = await _stalled_client(api.client.port)
            try:
                await _wait_for(lambda: len(sessions) == 2)
                [stalled] = sessions - {healthy_session}
                received: list[dict[str, Any]] = []
                for _ in range(1000):  # batches of 8 events of ~2 KiB: up to 16 MiB
                    if stalled.close_code is not None:
                        break
                    _publish(api, 8, pad=2048)
                    for _ in range(8):
                        received.append(await receive(healthy))
                assert stalled.close_code == 1013
                assert len(received) > 4 * options.queue_size  # it did fall behind first
                assert stalled.high_water <= options.queue_size
                await _wait_for(lambda: stalled not in sessions)
                assert healthy_session.high_water <= options.queue_size
                assert {m["type"] for m in received} == {"event"}
                assert_consecutive(start, received)
                _publish(api, 1)
                assert (await receive(healthy))["seq"] == start + len(received) + 1
            finally:
                sock.close()


async def test_server_stop_closes_every_feed_with_1001(api: RunningApi) -> None:
    async with api.client.ws_connect(WS) as first, api.client.ws_connect(WS) as second:
        await receive(first)
        await receive(second)
        started = time.monotonic()
        await api.client.server.close()
        closes = [await first.receive(timeout=10.0), await second.receive(timeout=10.0)]
        elapsed = time.monotonic() - started
    assert [(m.type, m.data) for m in closes] == [(aiohttp.WSMsgType.CLOSE, 1001)] * 2
    assert elapsed < FeedOptions().close_timeout_s + 1.0


async def test_an_idle_feed_outlives_the_connection_read_timeouts(env: PluginEnv) -> None:
    settings = env.settings(header_timeout_s=0.2, body_timeout_s=0.2, keepalive_timeout_s=0.2)
    async with RunningApi(settings) as api, api.client.ws_connect(WS) as ws:
        await receive(ws)
        # Deliberately idle past every HTTP read timeout: they must not apply to the feed.
        await asyncio.sleep(0.6)
        _publish(api, 1)
        assert (await receive(ws))["seq"] == 1
        await ws.send_json({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


async def test_resyncs_and_direct_delivery_interleave_without_a_gap(env: PluginEnv) -> None:
    """A subscriber that falls behind is resynchronised by its own writer (a snapshot that
    folds in the events published while it was built), then served by the shared writer
    again; switching between the two, many times, never skips, repeats or reorders an event."""
    options = FeedOptions(queue_size=4, resync_limit=1000)
    async with RunningApi(env.settings(), feed_options=options) as api:
        sessions: set[FeedSession] = api.client.server.app[FEED_SESSIONS]
        async with api.client.ws_connect(WS) as ws:
            messages = [await receive(ws)]
            await _wait_for(lambda: len(sessions) == 1)
            [session] = sessions
            for _ in range(20):  # bounded: 20 rounds
                _publish(api, 10)  # more at once than the queue holds: a resync
                for _ in range(10):  # and more while its snapshot is being built
                    _publish(api, 1)
                    await asyncio.sleep(0)
                await asyncio.sleep(0.01)
                _publish(api, 2)  # caught up again: these go the direct way
                await asyncio.sleep(0.01)
            async with asyncio.timeout(10):
                while messages[-1]["seq"] < api.system.bus.seq:
                    messages.append(await receive(ws))
        for before, after in itertools.pairwise(messages):
            if after["type"] == "event":
                assert after["seq"] == before["seq"] + 1, (before["seq"], after["seq"])
            else:
                assert after["type"] == "snapshot" and after["seq"] > before["seq"]
        assert sum(m["type"] == "snapshot" for m in messages) > 1  # it was resynchronised
        assert session.sent_directly > 0  # between resyncs, the shared writer served it
