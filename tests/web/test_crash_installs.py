"""SIGKILL the whole supervisor at random moments of installs and uninstalls, then restart it.

After every kill: every operation that was answered reads a final status, nothing is left
in staging, every plugin folder on disk is whole (its manifest parses) and has a state, and
no state names a plugin that is not on disk.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
from pathlib import Path

import aiohttp

from tests.actors.installer.installer_helpers import build_wheel, plugin_files
from tests.supervisor_process import free_port, plugvisor_command, start_serving
from tests.web.plugin_env import make_env

KILLS = 12


def check_disk(data_dir: Path, states: dict[str, dict]) -> None:
    assert list((data_dir / "tmp").iterdir()) == []
    on_disk = sorted(p.name for p in (data_dir / "plugins").iterdir() if not p.name.startswith("."))
    for plugin in on_disk:
        manifest = json.loads((data_dir / "plugins" / plugin / "manifest.json").read_text())
        assert manifest["id"] == plugin
    present = sorted(pid for pid, state in states.items() if state["status"] != "unknown")
    assert present == on_disk, (present, on_disk)


async def test_sigkill_during_installs_and_uninstalls_leaves_everything_whole(
    tmp_path: Path,
) -> None:
    env = make_env(tmp_path)
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "plugvisor-testdep", "1.0.0", "plugvisor_testdep")
    # ticker needs pip (about a second), so kills also land while dependencies install.
    env.repos["ticker"].replace_all(
        plugin_files("ticker", "1.0.0", requirements="plugvisor-testdep==1.0.0\n")
    )
    data_dir = tmp_path / "data"
    port = free_port()
    command = plugvisor_command(
        port, data_dir, env.registry_path, "--pip-no-index", "--pip-find-links", str(wheels)
    )
    base = f"http://127.0.0.1:{port}/api/v3/plugins"
    chooser = random.Random(20261126)
    answered: list[str] = []
    process = await start_serving(command)
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(KILLS):
                async with session.get(f"{base}/state") as response:
                    installed = (await response.json())["data"]
                plugin = chooser.choice(["clock", "ticker"])
                action = "uninstall" if plugin in installed else "install"
                async with session.post(f"{base}/{action}", json={"plugin_id": plugin}) as response:
                    assert response.status == 202, await response.text()
                    answered.append((await response.json())["data"]["operation_id"])
                await asyncio.sleep(chooser.uniform(0.0, 1.0))  # a random moment of the work
                os.killpg(process.pid, signal.SIGKILL)
                await process.wait()

                process = await start_serving(command)
                for operation_id in answered:
                    async with session.get(f"{base}/operation/{operation_id}") as response:
                        assert response.status == 200
                        record = (await response.json())["data"]
                    assert record["status"] in ("completed", "interrupted"), record
                async with session.get(f"{base}/state") as response:
                    check_disk(data_dir, (await response.json())["data"])
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(20):
                assert await process.wait() == 0
