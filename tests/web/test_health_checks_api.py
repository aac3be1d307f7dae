"""Health reasons over a real server: a lane stuck behind hung git clones appears in the
supervisor's health and clears once the queue drains; plugin health events reach the feed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from actors.health.checks import HealthSettings
from tests.actors.installer.installer_helpers import SilentServer, registry_entry
from tests.polling import wait_until
from tests.web.plugin_env import RunningApi, make_env

FAST = HealthSettings(check_interval_s=0.05)


async def codes(api: RunningApi) -> tuple[int, str, list[str], dict[str, Any]]:
    status, body = await api.get("/api/v3/supervisor/health")
    data = body["data"]
    return status, data["status"], [reason["code"] for reason in data["reasons"]], data


async def test_an_operation_waiting_past_the_deadline_appears_and_clears(
    tmp_path: Path, silent: SilentServer
) -> None:
    env = make_env(tmp_path)
    for name in ("hung-a", "hung-b", "hung-c"):
        env.add_entry(registry_entry(name, f"http://127.0.0.1:{silent.port}/{name}.git"))
    settings = replace(env.settings(operation_deadline_s=1.0, queue_concurrency=1), health=FAST)
    async with RunningApi(settings) as api:
        for name in ("hung-a", "hung-b", "hung-c"):
            status, _ = await api.post("/api/v3/plugins/install", {"plugin_id": name})
            assert status == 202
        # hung-c waits behind two clones that each hang until the 1 s deadline.

        async def stuck() -> tuple[Any, ...] | None:
            # A clone being killed at its deadline can show first as "running": on a loaded
            # machine that moment lasts; the waiting operation is what this test is about.
            answer = await codes(api)
            reasons = answer[3]["reasons"]
            waiting = [
                r
                for r in reasons
                if r["code"] == "operation_past_deadline" and "waiting" in r["detail"]
            ]
            return answer if waiting else None

        status, overall, _, data = await wait_until(
            stuck, what="the stuck lane reason", timeout=20, interval=0.05
        )
        assert (status, overall) == (200, "degraded")
        [reason] = [r for r in data["reasons"] if r["code"] == "operation_past_deadline"]
        assert reason["detail"].startswith("deadline 1 s: ") and "waiting" in reason["detail"]
        assert api.system is not None and api.system.health_tracker.status == "degraded"

        async def cleared() -> tuple[Any, ...] | None:
            answer = await codes(api)
            return answer if "operation_past_deadline" not in answer[2] else None

        status, overall, _, _ = await wait_until(
            cleared, what="the reason to clear", timeout=20, interval=0.05
        )
        assert status == 200
