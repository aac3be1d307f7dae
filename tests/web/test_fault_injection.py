"""Actors crash while requests pour in: every request is answered, the tree recovers, health
shows the restarts, and config and state still agree.

A crash is injected the way a real bug would cause one: a message whose handler raises,
sent with ``tell`` (an exception in a tell handler crashes the actor).
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from actors.config_store import GetPluginConfig
from actors.history.messages import QueryHistory
from actors.queue.messages import GetOperation
from actors.state.messages import RescanPlugins
from tests.polling import wait_until
from tests.web.plugin_env import RunningApi, make_env

# Each message makes its actor's handler raise when told (not asked).
FAULTS = {
    "config_store": GetPluginConfig("not-installed"),
    "state": RescanPlugins(("Not a plugin id",)),
    "history": QueryHistory(limit=0),
    "queue": GetOperation("no-such-operation"),
}
CRASHES = 4  # the root tolerates 5 restarts a minute: stay under it
REQUESTS = 240


async def test_crashes_under_load_are_survived(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    chooser = random.Random(7)
    async with RunningApi(env.settings()) as api:
        assert api.system is not None and api.client is not None
        for plugin in ("clock", "ticker"):
            status, _ = await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": plugin})
            assert status == 200

        def one_request(number: int):
            plugin = ("clock", "ticker")[number % 2]
            kind = number % 5
            if kind == 0:
                return api.post(
                    "/api/v3/plugins/toggle", {"plugin_id": plugin, "enabled": number % 3 == 0}
                )
            if kind == 1:
                return api.get(f"/api/v3/plugins/config?plugin_id={plugin}")
            if kind == 2:
                return api.get("/api/v3/plugins/state")
            if kind == 3:
                return api.get("/api/v3/plugins/operation/history?limit=5")
            return api.get("/api/v3/plugins/operations")

        crash_at = sorted(chooser.sample(range(20, REQUESTS - 20), CRASHES))
        victims = chooser.sample(sorted(FAULTS), CRASHES)
        requests = []
        for number in range(REQUESTS):
            if number in crash_at:
                victim = victims[crash_at.index(number)]
                api.system.tree.ref(victim).tell_nowait(FAULTS[victim])
            requests.append(asyncio.ensure_future(one_request(number)))
            if number % 16 == 0:
                await asyncio.sleep(0)  # let some of them run between the crashes
        async with asyncio.timeout(60):
            answers = await asyncio.gather(*requests)

        for status, body in answers:
            if status < 400:
                assert body["status"] == "success"
            else:  # a clear error, never a bare failure
                assert status in (500, 503, 504), body
                assert body["status"] == "error" and body["error_code"] in (
                    "SYSTEM_ERROR",
                    "SERVICE_UNAVAILABLE",
                    "TIMEOUT",
                )
        assert sum(status < 400 for status, _ in answers) >= REQUESTS * 0.9

        await wait_until(lambda: api.system.tree.healthy, what="a healthy tree", timeout=20)
        status, health = await api.get("/api/v3/supervisor/health")
        assert status == 200 and health["data"]["status"] == "ok", health["data"]
        restarts = {a["name"]: a["restarts"] for a in health["data"]["actors"]}
        for victim in victims:
            assert restarts[f"root/{victim}"] >= 1
        assert sum(restarts.values()) == CRASHES

        for plugin in ("clock", "ticker"):
            _, config = await api.get(f"/api/v3/plugins/config?plugin_id={plugin}")
            _, state = await api.get(f"/api/v3/plugins/state?plugin_id={plugin}")
            assert config["data"]["enabled"] is state["data"]["enabled"]
