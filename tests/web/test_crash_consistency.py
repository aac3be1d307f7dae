"""SIGKILL the supervisor at random moments of toggles, config saves, installs, updates and
uninstalls, over 100 times; after every restart config, state, /installed, disk and history
agree, and every answered write is there.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.actors.installer.installer_helpers import plugin_files
from tests.supervisor_process import free_port, plugvisor_command, start_serving
from tests.web.plugin_env import make_env

KILLS = 104
PLUGINS = ("clock", "ticker")


class Api:
    def __init__(self, session: aiohttp.ClientSession, port: int) -> None:
        self.session = session
        self.base = f"http://127.0.0.1:{port}/api/v3"

    async def get(self, path: str) -> Any:
        async with self.session.get(self.base + path) as response:
            assert response.status == 200, await response.text()
            return (await response.json())["data"]

    async def reason_codes(self) -> list[str]:
        """Why the supervisor is not fine, for a failure's message (a 503 answers them too)."""
        async with self.session.get(self.base + "/supervisor/health") as response:
            return [reason["code"] for reason in (await response.json())["data"]["reasons"]]

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        async with self.session.post(self.base + path, json=body) as response:
            return response.status, (await response.json()).get("data")


def config_on_disk(data_dir: Path) -> dict[str, Any]:
    document = json.loads((data_dir / "config" / "config.json").read_text())
    return {key: value for key, value in document.items() if key in PLUGINS}


def plugins_on_disk(data_dir: Path) -> dict[str, str]:
    found = {}
    for folder in (data_dir / "plugins").iterdir():
        if folder.name.startswith("."):
            continue
        found[folder.name] = json.loads((folder / "manifest.json").read_text())["version"]
    return found


async def check_agreement(api: Api, data_dir: Path, answered: dict[str, str]) -> None:
    assert list((data_dir / "tmp").iterdir()) == []
    disk = plugins_on_disk(data_dir)
    config = config_on_disk(data_dir)
    states = await api.get("/plugins/state")
    installed = {p["id"]: p for p in (await api.get("/plugins/installed"))["plugins"]}
    assert sorted(states) == sorted(installed) == sorted(disk) == sorted(config), (
        sorted(states),
        sorted(installed),
        sorted(disk),
        sorted(config),
    )
    for plugin, version in disk.items():
        enabled = config[plugin].get("enabled", True)
        assert states[plugin]["enabled"] is enabled is installed[plugin]["enabled"], plugin
        assert states[plugin]["version"] == version == installed[plugin]["version"], plugin
        assert states[plugin]["status"] == ("enabled" if enabled else "disabled"), plugin
    history = await api.get("/plugins/operation/history?limit=1000")
    recorded = {record["operation_id"]: record["status"] for record in history}
    for operation_id, last_seen in answered.items():
        record = await api.get(f"/plugins/operation/{operation_id}")
        assert record["status"] in ("completed", "failed", "interrupted"), record
        assert recorded.get(operation_id) == record["status"], (record, last_seen)


@pytest.mark.timeout(420)  # ~70 s on a quiet 2-core machine; 104 restarts slow down under load
async def test_sigkill_at_random_moments_never_splits_the_truth(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    data_dir = tmp_path / "data"
    port = free_port()
    command = plugvisor_command(port, data_dir, env.registry_path)
    chooser = random.Random(20261202)
    answered: dict[str, str] = {}  # operation id -> status when answered
    # plugin -> setting -> the values the config may hold: the last answered one, plus any
    # sent after it whose answer the kill cut off (it may or may not have landed); a setting
    # with no answered value since the plugin's install is not constrained
    expected: dict[str, dict[str, set[Any]]] = {}
    trail: list[tuple[int, str, Any, Any]] = []  # (round, plugin, body, answer): for a failure
    versions = dict.fromkeys(PLUGINS, 0)
    kinds: list[str] = []
    process = await start_serving(command)
    try:
        async with aiohttp.ClientSession() as session:
            api = Api(session, port)
            for round_number in range(KILLS):
                states = await api.get("/plugins/state")
                plugin = chooser.choice(PLUGINS)
                if plugin not in states:
                    kind = "install"
                else:
                    kind = chooser.choice(["toggle", "toggle", "config", "update", "uninstall"])
                kinds.append(kind)
                if kind == "update":  # publish a new version for the update to find
                    versions[plugin] += 1
                    new = f"1.0.{versions[plugin]}"
                    env.repos[plugin].replace_all(plugin_files(plugin, new))
                requests = _requests(kind, plugin, chooser)
                sent: list[tuple[dict[str, Any], Any]] = []
                work = asyncio.create_task(_one_after_another(api, requests, sent))
                await asyncio.sleep(chooser.uniform(0.0, 0.35))  # a random moment of the work
                os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
                await asyncio.gather(work, return_exceptions=True)
                if kind in ("install", "uninstall"):
                    expected.pop(plugin, None)  # a fresh section, or none
                for body, answer in sent:
                    shown = answer[0] if isinstance(answer, tuple) else type(answer).__name__
                    trail.append((round_number, plugin, body, shown))
                    if isinstance(answer, tuple) and answer[0] == 202:
                        answered[answer[1]["operation_id"]] = answer[1]["status"]
                    settings = body.get("config") or (
                        {"enabled": body["enabled"]} if "enabled" in body else {}
                    )
                    known = expected.setdefault(plugin, {})
                    for key, value in settings.items():
                        if isinstance(answer, tuple) and answer[0] == 200:
                            known[key] = {value}  # acknowledged: durable, and it supersedes
                        elif key in known:
                            known[key].add(value)  # it may or may not have landed
                        # else: the value before was unknown (a fresh install), so it stays so

                process = await start_serving(command)
                await check_agreement(api, data_dir, answered)
                config = config_on_disk(data_dir)
                reasons = await api.reason_codes()
                for name, settings in expected.items():
                    for key, values in settings.items():
                        if name in config:
                            assert config[name].get(key) in values, _explain(
                                round_number, name, key, trail, reasons
                            )
                        if len(values) > 1 and name in config:  # settled: one value now
                            settings[key] = {config[name].get(key)}
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(20):
                assert await process.wait() == 0
    assert {"toggle", "config", "install", "update", "uninstall"} <= set(kinds)


def _explain(round_number: int, name: str, key: str, trail: list[Any], reasons: list[str]) -> str:
    """A failure's whole story as text (pytest shortens a non-text message)."""
    lines = [f"round {round_number}: {name}.{key} is not what was acknowledged", *map(str, trail)]
    return "\n".join([*lines, f"health reasons after the restart: {reasons}"])


async def _one_after_another(
    api: Api, requests: list[tuple[str, dict[str, Any]]], sent: list[tuple[dict[str, Any], Any]]
) -> None:
    """Send each request once the one before it is answered, noting every answer (or none)."""
    for path, body in requests:
        sent.append((body, None))
        try:
            answer = await api.post(path, body)
        except aiohttp.ClientError as exc:
            sent[-1] = (body, exc)
            return
        sent[-1] = (body, answer)


def _requests(kind: str, plugin: str, chooser: random.Random) -> list[tuple[str, dict[str, Any]]]:
    if kind == "toggle":  # a burst, one after another
        return [
            ("/plugins/toggle", {"plugin_id": plugin, "enabled": chooser.random() < 0.5})
            for _ in range(chooser.randint(1, 4))
        ]
    if kind == "config":
        duration = chooser.randint(5, 300)
        return [
            ("/plugins/config", {"plugin_id": plugin, "config": {"display_duration": duration}})
        ]
    if kind == "install":
        return [("/plugins/install", {"plugin_id": plugin})]
    if kind == "update":
        return [("/plugins/update", {"plugin_id": plugin})]
    return [("/plugins/uninstall", {"plugin_id": plugin})]
