"""The supervisor health endpoint: every actor of the tree and every current reason."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from actors.system import Settings
from tests.polling import wait_until
from tests.test_run_exit import crashing_system
from tests.web.plugin_env import RunningApi
from web.app import create_app

ACTORS = [
    "root/history",
    "root/config_store",
    "root/access",
    "root/state",
    "root/catalog",
    "root/queue",
    "root/reconciler",
    "root/health",
]


async def health(api: RunningApi) -> tuple[int, dict]:
    status, body = await api.get("/api/v3/supervisor/health")
    return status, body["data"]


async def test_health_reports_every_actor_of_the_tree(settings: Settings) -> None:
    async with RunningApi(settings) as api:
        status, data = await health(api)
    assert status == 200
    assert data["status"] == "ok", data["reasons"]
    assert [actor["name"] for actor in data["actors"]] == ACTORS
    for actor in data["actors"]:
        assert set(actor) == {
            "name",
            "status",
            "state",
            "restarts",
            "last_error",
            "last_restart_at",
            "mailbox_depth",
            "processed",
        }
        assert actor["status"] == "ok" and actor["restarts"] == 0
    assert data["reasons"] == []
    assert data["checks"]["disk"]["status"] == "ok"
    assert data["started_at"].endswith("Z") and data["uptime_s"] >= 0


async def test_unreachable_registry_is_a_degraded_reason_not_a_failure(
    settings: Settings, tmp_path: Path
) -> None:
    offline = replace(settings, registry_url=str(tmp_path / "missing-registry.json"))
    async with RunningApi(offline) as api:

        async def with_a_reason() -> tuple[int, dict] | None:
            status, data = await health(api)
            return (status, data) if data["reasons"] else None

        status, data = await wait_until(with_a_reason, what="a health reason", interval=0.02)
        status_list, listing = await api.get("/api/v3/plugins/store/list")
    assert status == 200
    assert data["status"] == "degraded"
    assert [reason["code"] for reason in data["reasons"]] == ["registry_unreachable"]
    reason = data["reasons"][0]
    assert set(reason) >= {"code", "message", "since", "detail", "remediation"}
    assert status_list == 200 and listing["data"]["plugins"] == []
    assert listing["data"]["registry"]["stale"] is True


async def test_config_restored_from_backup_is_listed_in_reasons(settings: Settings) -> None:
    async with RunningApi(settings) as api:
        status, _ = await api.post("/api/v3/config/main", {"timezone": "Europe/Paris"})
        assert status == 200
        status, _ = await api.post("/api/v3/config/main", {"timezone": "Europe/Berlin"})
        assert status == 200
    config = settings.data_dir / "config" / "config.json"
    config.write_bytes(config.read_bytes()[:20])  # torn by a power cut
    async with RunningApi(settings) as api:
        status, data = await health(api)
        _, main = await api.get("/api/v3/config/main")
    assert status == 200 and data["status"] == "degraded"
    assert "config_restored_from_backup" in [reason["code"] for reason in data["reasons"]]
    assert main["data"]["timezone"] == "Europe/Paris"


async def test_a_tree_that_gave_up_is_unhealthy_with_503(tmp_path: Path) -> None:
    system = crashing_system(Settings(data_dir=tmp_path / "data"))
    await system.tree.start()
    async with asyncio.timeout(10):
        exit_reason = await system.tree.wait_exit()
    assert exit_reason.failed
    async with TestClient(TestServer(create_app(system), host="127.0.0.1")) as client:
        response = await client.get("/api/v3/supervisor/health")
        body = await response.json()
    assert response.status == 503
    assert body["data"]["status"] == "unhealthy"
    [faulty] = body["data"]["actors"]
    assert faulty["name"] == "root/faulty" and faulty["status"] == "unhealthy"
    assert faulty["restarts"] >= 2 and "fault injected" in faulty["last_error"]
