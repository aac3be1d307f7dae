"""Hung sources, deadlines, cancellation, SIGKILL mid-install and restarts, over real HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import aiohttp
import pytest

from tests.actors.installer.installer_helpers import (
    SilentServer,
    processes_mentioning,
    registry_entry,
)
from tests.polling import wait_until
from tests.supervisor_process import free_port, plugvisor_command, start_serving
from tests.web.payloads import A_TIME, error, operation_stamped
from tests.web.plugin_env import PluginEnv, RunningApi, make_env


@pytest.fixture
def env(tmp_path: Path, silent: SilentServer) -> PluginEnv:
    env = make_env(tmp_path)
    hung_url = f"http://127.0.0.1:{silent.port}/hung.git"
    env.add_entry(registry_entry("hung", hung_url))
    return env


def no_git_left(port: int) -> bool:
    return processes_mentioning(f"127.0.0.1:{port}") == []


async def test_hung_git_blocks_no_other_plugin_and_dies_on_cancel(
    env: PluginEnv, silent: SilentServer
) -> None:
    async with RunningApi(env.settings(queue_concurrency=2)) as api:
        _, hung = await api.post("/api/v3/plugins/install", {"plugin_id": "hung"})
        async with asyncio.timeout(10):
            await silent.connected.wait()
        status, body = await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": "clock"})
        assert status == 200 and body["data"]["status"] == "completed"

        hung_id = hung["data"]["operation_id"]
        status, body = await api.post(f"/api/v3/plugins/operation/{hung_id}/cancel")
        assert status == 200, body
        assert {**body, "data": operation_stamped(body["data"])} == {
            "status": "success",
            "data": {
                "operation_id": hung_id,
                "operation_type": "install",
                "plugin_id": "hung",
                "parameters": {},
                "status": "cancelled",
                "progress": 0.1,
                "stage": "downloading",  # where the clone hung
                "message": "Cancelled; its work was rolled back",
                "error": None,
                "result": None,
                "created_at": A_TIME,
                "started_at": A_TIME,
                "completed_at": A_TIME,
                "position": None,
            },
            "message": "Operation cancelled",
        }
        await wait_until(lambda: no_git_left(silent.port), what="no git process left")
        assert api.system is not None
        assert list(api.system.paths.tmp_dir.iterdir()) == []
        assert not (api.system.paths.plugins_dir / "hung").exists()
        _, active = await api.get("/api/v3/plugins/operations")
        assert active["data"] == []


async def test_hung_git_ends_at_its_deadline(env: PluginEnv, silent: SilentServer) -> None:
    async with RunningApi(env.settings(operation_deadline_s=1.0)) as api:
        status, body = await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": "hung"})
        assert status == 504, body
        operation_id = body["context"]["operation_id"]
        timed_out = {
            "operation_id": operation_id,
            "operation_type": "install",
            "plugin_id": "hung",
            "parameters": {},
            "status": "timed_out",
            "progress": 0.1,
            "stage": "downloading",
            "message": "Did not finish within 1 s; its work was rolled back",
            "error": {"error_code": "TIMEOUT", "message": "Operation deadline exceeded"},
            "result": None,
            "created_at": A_TIME,
            "started_at": A_TIME,
            "completed_at": A_TIME,
            "position": None,
        }
        operation = operation_stamped(body["context"]["operation"])
        assert {**body, "context": {**body["context"], "operation": operation}} == error(
            "TIMEOUT",
            "network",
            "Operation deadline exceeded",
            {"operation_id": operation_id, "operation": timed_out},
            suggested_fixes=["Try again in a moment"],
        )
        record = await api.wait_operation(operation_id)
        assert operation_stamped(record) == timed_out
        await wait_until(lambda: no_git_left(silent.port), what="no git process left")
        # The lane is free again: the next operation runs.
        status, body = await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": "clock"})
        assert status == 200


async def test_operation_ids_answer_after_a_clean_restart(env: PluginEnv) -> None:
    async with RunningApi(env.settings()) as api:
        _, body = await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": "clock"})
        operation_id = body["data"]["operation_id"]
    async with RunningApi(env.settings()) as api:
        status, after = await api.get(f"/api/v3/plugins/operation/{operation_id}")
        assert status == 200
        assert after == {"status": "success", "data": body["data"]}  # the same, to the byte
        _, state = await api.get("/api/v3/plugins/state?plugin_id=clock")
        assert state["data"]["version"] == "1.0.0"


async def test_history_pages_across_rotated_files(env: PluginEnv) -> None:
    settings = env.settings(history_max_file_bytes=1500)
    async with RunningApi(settings) as api:
        await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": "clock"})
        for i in range(24):
            status, _ = await api.post(
                "/api/v3/plugins/toggle", {"plugin_id": "clock", "enabled": i % 2 == 0}
            )
            assert status == 200
        assert api.system is not None
        assert len(list(api.system.paths.history_dir.glob("operations-*.jsonl"))) >= 3
        _, everything = await api.get("/api/v3/plugins/operation/history?limit=1000")
        assert len(everything["data"]) == 25
        assert api.client is not None
        seen: list[str] = []
        url = "/api/v3/plugins/operation/history?limit=4&plugin_id=clock"
        for _ in range(20):
            response = await api.client.get(url)
            page = await response.json()
            seen += [record["operation_id"] for record in page["data"]]
            link = response.headers.get("Link")
            if not link:
                break
            url = link.split(">")[0].lstrip("<")
        assert seen == [record["operation_id"] for record in everything["data"]]
        _, enables = await api.get("/api/v3/plugins/operation/history?operation_type=enable")
        assert len(enables["data"]) == 12


async def test_sigkill_mid_install_leaves_an_interrupted_operation_and_no_debris(
    env: PluginEnv, silent: SilentServer, tmp_path: Path
) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    command = plugvisor_command(port, data_dir, env.registry_path)
    base = f"http://127.0.0.1:{port}/api/v3/plugins"
    process = await start_serving(command)
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{base}/install", json={"plugin_id": "hung"}) as response:
                assert response.status == 202
                operation_id = (await response.json())["data"]["operation_id"]
            async with asyncio.timeout(10):
                await silent.connected.wait()
            os.killpg(process.pid, signal.SIGKILL)  # the supervisor and its git, mid-clone
            await process.wait()

            process = await start_serving(command)
            async with session.get(f"{base}/operation/{operation_id}") as response:
                assert response.status == 200
                record = (await response.json())["data"]
            assert record["status"] == "interrupted"
            assert record["error"]["error_code"] == "SYSTEM_ERROR"
            async with session.get(f"{base}/installed") as response:
                assert (await response.json())["data"]["plugins"] == []
            assert list((data_dir / "tmp").iterdir()) == []
            assert not (data_dir / "plugins" / "hung").exists()
            async with session.get(f"{base}/operation/history?status=interrupted") as response:
                records = (await response.json())["data"]
            assert [r["operation_id"] for r in records] == [operation_id]
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(20):
                assert await process.wait() == 0


async def test_install_uninstall_install_again_ends_installed(
    env: PluginEnv, silent: SilentServer
) -> None:
    """A repeated request is merged only with the newest of its lane: the last word stands."""
    async with RunningApi(env.settings()) as api:
        status, _ = await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": "clock"})
        assert status == 200
        real = next(e for e in env.entries if e["id"] == "clock")
        env.add_entry(registry_entry("clock", f"http://127.0.0.1:{silent.port}/hung.git"))
        _, first = await api.post("/api/v3/plugins/install", {"plugin_id": "clock"})
        async with asyncio.timeout(10):
            await silent.connected.wait()  # the reinstall is running, stuck in git
        _, uninstall = await api.post("/api/v3/plugins/uninstall", {"plugin_id": "clock"})
        _, again = await api.post("/api/v3/plugins/install", {"plugin_id": "clock"})
        assert again["data"]["deduplicated"] is False
        ids = {first["data"]["operation_id"], uninstall["data"]["operation_id"]}
        assert again["data"]["operation_id"] not in ids
        env.add_entry(real)  # the last install finds the plugin again
        cancel = f"/api/v3/plugins/operation/{first['data']['operation_id']}/cancel"
        assert (await api.post(cancel))[0] == 200
        last = await api.wait_operation(again["data"]["operation_id"])
        assert last["status"] == "completed", last
        assert (await api.wait_operation(uninstall["data"]["operation_id"]))[
            "status"
        ] == "completed"
        status, state = await api.get("/api/v3/plugins/state?plugin_id=clock")
        assert (status, state["data"]["status"]) == (200, "enabled")
