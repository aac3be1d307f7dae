"""Plugin health over a real server: breaker transitions with exact payloads, validation at the
boundary, plugin health in /installed and /state, and a restart keeping the breakers."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from actors.health.checks import HealthSettings
from actors.system import Settings
from tests.polling import wait_until
from tests.web.plugin_env import RunningApi

COOLDOWN_S = 0.4
HEALTH = "/api/v3/plugins/health"
ISO_LEN = len("2026-12-02T08:00:00.000Z")


def with_plugin(settings: Settings, plugin_id: str = "clock") -> Settings:
    """A plugin folder in plugins/ (as a copied-in plugin is found at start), fast breakers."""
    folder = settings.data_dir / "plugins" / plugin_id
    folder.mkdir(parents=True)
    manifest = {
        "id": plugin_id,
        "name": "Clock",
        "version": "1.0.0",
        "class_name": "Clock",
        "display_modes": ["clock"],
    }
    (folder / "manifest.json").write_bytes(orjson.dumps(manifest))
    health = HealthSettings(check_interval_s=0.05, breaker_cooldown_s=COOLDOWN_S)
    return replace(settings, health=health)


def untimed(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary with its timestamps checked for shape and set to "T" (or kept None)."""
    out = dict(summary)
    for key in ("last_success_time", "last_failure_time"):
        if out[key] is not None:
            assert len(out[key]) == ISO_LEN and out[key].endswith("Z"), out[key]
            out[key] = "T"
    return out


def expected(**changes: Any) -> dict[str, Any]:
    base = {
        "plugin_id": "clock",
        "status": "unknown",
        "circuit_state": "closed",
        "consecutive_failures": 0,
        "total_failures": 0,
        "total_successes": 0,
        "success_rate": None,
        "last_success_time": None,
        "last_failure_time": None,
        "last_error": None,
        "recovery_suggestions": [],
    }
    return {**base, **changes}


OPEN_TIPS = [
    "The plugin failed repeatedly and is paused; check its last error",
    "Check the plugin's configuration and any API keys it needs",
    "Update or reinstall the plugin, then reset its health",
]


async def report(api: RunningApi, body: Any, plugin_id: str = "clock") -> tuple[int, Any]:
    return await api.post(f"{HEALTH}/{plugin_id}/report", body)


async def plugin_view_health(api: RunningApi) -> tuple[str, str]:
    _, state = await api.get("/api/v3/plugins/state?plugin_id=clock")
    _, installed = await api.get("/api/v3/plugins/installed")
    [entry] = installed["data"]["plugins"]
    return state["data"]["health"], entry["health"]


async def test_breaker_transitions_with_exact_payloads(settings: Settings) -> None:
    async with RunningApi(with_plugin(settings)) as api:
        assert await api.get(HEALTH) == (200, {"status": "success", "data": {"clock": expected()}})
        assert await plugin_view_health(api) == ("unknown", "unknown")

        status, body = await report(api, {"success": True, "duration_ms": 12.5})
        assert status == 200
        assert untimed(body["data"]) == expected(
            status="healthy", total_successes=1, success_rate=1.0, last_success_time="T"
        )
        await wait_until(
            lambda: _equals(plugin_view_health(api), ("healthy", "healthy")),
            what="the state to follow the plugin's health",
        )
        for _ in range(2):
            status, body = await report(api, {"success": False, "error": "HTTP 503"})
        assert untimed(body["data"]) == expected(
            status="degraded",
            consecutive_failures=2,
            total_failures=2,
            total_successes=1,
            success_rate=0.3333,
            last_success_time="T",
            last_failure_time="T",
            last_error="HTTP 503",
            recovery_suggestions=[
                "The plugin fails now and then; check its last error and network access"
            ],
        )
        status, body = await report(api, {"success": False, "error": "timed out"})
        opened = expected(
            status="unhealthy",
            circuit_state="open",
            consecutive_failures=3,
            total_failures=3,
            total_successes=1,
            success_rate=0.25,
            last_success_time="T",
            last_failure_time="T",
            last_error="timed out",
            recovery_suggestions=OPEN_TIPS,
        )
        assert untimed(body["data"]) == opened
        status, one = await api.get(f"{HEALTH}/clock")
        assert untimed(one["data"]) == opened
        await wait_until(
            lambda: _equals(plugin_view_health(api), ("unhealthy", "unhealthy")),
            what="the state to show the open circuit",
        )

        async def half_open() -> dict[str, Any] | None:
            _, now = await api.get(f"{HEALTH}/clock")
            return now["data"] if now["data"]["circuit_state"] == "half_open" else None

        half = await wait_until(half_open, what="the cooldown to pass", interval=0.05)
        assert (half["status"], half["consecutive_failures"]) == ("degraded", 3)
        status, body = await report(api, {"success": True})  # the one probe
        assert untimed(body["data"]) == expected(
            status="degraded",  # closed, but the window still holds three failures
            consecutive_failures=0,
            total_failures=3,
            total_successes=2,
            success_rate=0.4,
            last_success_time="T",
            last_failure_time="T",
            last_error="timed out",
            recovery_suggestions=[
                "The plugin fails now and then; check its last error and network access"
            ],
        )
        status, body = await api.post(f"{HEALTH}/clock/reset")
        assert status == 200 and body["data"]["status"] == "healthy"
        assert body["data"]["success_rate"] is None and body["data"]["total_failures"] == 3


async def _equals(pending: Any, want: Any) -> bool:
    return (await pending) == want


async def test_a_restart_keeps_the_breakers_and_only_changes_are_written(
    settings: Settings,
) -> None:
    settings = with_plugin(settings)
    store = settings.data_dir / "health" / "breakers.json"
    async with RunningApi(settings) as api:
        await report(api, {"success": True})  # first report: written
        first = store.read_bytes()
        for _ in range(5):
            await report(api, {"success": True})  # successes while closed: not written
        assert store.read_bytes() == first
        for _ in range(3):
            await report(api, {"success": False, "error": "no network"})
        stored = json.loads(store.read_text())["plugins"]["clock"]
        assert (stored["circuit"], stored["total_failures"], stored["total_successes"]) == (
            "open",
            3,
            6,
        )
        _, before = await api.get(f"{HEALTH}/clock")
    async with RunningApi(settings) as api:
        _, after = await api.get(f"{HEALTH}/clock")
        assert after == before  # every counter, the open circuit and its times
        assert after["data"]["circuit_state"] == "open"
        await wait_until(
            lambda: _equals(plugin_view_health(api), ("unhealthy", "unhealthy")),
            what="the state to show the remembered health after the restart",
        )


async def test_reports_are_checked_at_the_boundary(settings: Settings) -> None:
    async with RunningApi(with_plugin(settings)) as api:
        bad = [
            ({"success": 1}, "success"),
            ({"success": "true"}, "success"),
            ({}, "success"),
            ({"success": False, "error": 7}, "error"),
            ({"success": False, "error": "e" * 2001}, "error"),
            ({"success": True, "duration_ms": -1}, "duration_ms"),
            ({"success": True, "duration_ms": True}, "duration_ms"),
            ({"success": True, "duration_ms": "5"}, "duration_ms"),
            ({"success": True, "extra": 1}, "extra"),
        ]
        for body, field in bad:
            status, answer = await report(api, body)
            assert (status, answer["error_code"], answer["context"]) == (
                400,
                "INVALID_INPUT",
                {"field": field},
            ), body
        status, answer = await report(api, {"success": True}, plugin_id="ghost")
        assert (status, answer["error_code"]) == (404, "PLUGIN_NOT_FOUND")
        status, answer = await api.get(f"{HEALTH}/ghost")
        assert (status, answer["error_code"]) == (404, "PLUGIN_NOT_FOUND")
        for bad_id in ("..%2Fconfig", "Not%20An%20Id", "a" * 65):
            for method, path in (("get", ""), ("post", "/report"), ("post", "/reset")):
                call = api.get if method == "get" else api.post
                status, answer = await call(f"{HEALTH}/{bad_id}{path}")
                assert (status, answer["error_code"]) == (400, "INVALID_INPUT"), (bad_id, path)
                assert answer["context"]["field"] == "plugin_id", answer
        status, answer = await api.post(f"{HEALTH}/ghost/reset")
        assert (status, answer["error_code"]) == (404, "PLUGIN_NOT_FOUND")
        _, one = await api.get(f"{HEALTH}/clock")
        assert one["data"] == expected()  # nothing refused was counted
        assert not (Path(api.settings.data_dir) / "health" / "breakers.json").exists()


async def test_plugin_health_events_reach_the_feed_and_the_snapshot_keeps_the_supervisor(
    settings: Settings,
) -> None:
    async with RunningApi(with_plugin(settings)) as api:
        assert api.client is not None
        async with api.client.ws_connect("/api/v3/ws") as ws:
            snapshot = (await ws.receive(timeout=10)).json()
            assert snapshot["type"] == "snapshot"
            status, body = await report(api, {"success": False, "error": "no data"})
            assert status == 200
            for _ in range(50):  # bounded: supervisor and plugin_state events may interleave
                message = (await ws.receive(timeout=10)).json()
                if message.get("event") == "health" and message["data"]["kind"] == "plugin":
                    break
            else:
                raise AssertionError("no plugin health event on the feed")
        assert message["data"] == {"kind": "plugin", "plugin_id": "clock", "health": body["data"]}
        async with api.client.ws_connect("/api/v3/ws") as ws:
            again = (await ws.receive(timeout=10)).json()
        assert set(again["data"]["health"]) == {"status", "reasons"}
        assert again["data"]["plugins"]["clock"]["health"] == "degraded"


async def test_a_damaged_breaker_file_is_a_reason_and_health_starts_afresh(
    settings: Settings,
) -> None:
    settings = with_plugin(settings)
    folder = settings.data_dir / "health"
    folder.mkdir(parents=True)
    (folder / "breakers.json").write_bytes(b"\x00garbage")
    async with RunningApi(settings) as api:
        status, body = await api.get("/api/v3/supervisor/health")
        assert status == 200 and body["data"]["status"] == "degraded"
        # (the plugin folder copied in without a state file is a reason of its own)
        reasons = {reason["code"]: reason for reason in body["data"]["reasons"]}
        assert set(reasons) == {"health_file_damaged", "state_file_lost"}
        reason = reasons["health_file_damaged"]
        assert "kept as breakers.json.damaged-" in reason["detail"]
        _, one = await api.get(f"{HEALTH}/clock")
        assert one["data"] == expected()
        await report(api, {"success": True})
    assert json.loads((folder / "breakers.json").read_text())["plugins"]["clock"]["circuit"] == (
        "closed"
    )
