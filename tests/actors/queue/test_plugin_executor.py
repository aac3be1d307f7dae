"""The plugin executor against the real actors: the files land, then the config follows; settle
rolls forward after a crash what had landed and nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from actors.errors import ErrorCode, PlugvisorError
from actors.installer import Installer
from actors.queue.plugin_executor import PluginExecutor
from actors.queue.records import Operation
from actors.system import System, build_system
from tests.web.plugin_env import make_env


@dataclass
class Rig:
    system: System
    executor: PluginExecutor
    stages: list[tuple[str, float, str]]

    def report(self, stage: str, progress: float, message: str) -> None:
        self.stages.append((stage, progress, message))

    def config(self) -> dict[str, Any]:
        return orjson.loads((self.system.paths.config_dir / "config.json").read_bytes())

    def installed(self) -> list[str]:
        return sorted(p.name for p in self.system.paths.plugins_dir.iterdir() if p.is_dir())

    async def run(self, op: Operation) -> dict[str, Any]:
        commit = await self.executor.prepare(op, self.report, {})
        return await commit()


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """A started system (local git repos of ``clock`` and ``ticker`` in a registry file) and an
    executor over its config store, state and catalog, as ``actors/system.py`` wires one."""
    env = make_env(tmp_path)
    settings = env.settings()
    system = build_system(settings)
    await system.tree.start()
    tree = system.tree
    executor = PluginExecutor(
        Installer(system.paths, pip=settings.pip),
        tree.ref("config_store"),
        tree.ref("state"),
        tree.ref("catalog"),
        ask_timeout_s=30.0,
    )
    try:
        yield Rig(system, executor, [])
    finally:
        await tree.stop()


def install(plugin_id: str, **parameters: Any) -> Operation:
    return Operation("install", plugin_id, parameters, lane=plugin_id)


def uninstall(plugin_id: str, **parameters: Any) -> Operation:
    return Operation("uninstall", plugin_id, parameters, lane=plugin_id)


async def test_an_install_lands_the_files_and_its_commit_adds_the_config(rig: Rig) -> None:
    op = install("clock")
    commit = await rig.executor.prepare(op, rig.report, {})
    assert rig.installed() == ["clock"]
    assert "clock" not in rig.config()  # the config side waits for the commit
    result = await commit()
    assert result == {
        "plugin_id": "clock",
        "requested_id": None,
        "version": "1.0.0",
        "name": "Plugin clock",
        "previous_version": None,
        "updated": True,
        "dependencies_installed": False,
        "source": result["source"],
        "enabled": True,
        "message": "Plugin clock 1.0.0 installed",
    }
    assert result["source"]["type"] == "registry"
    assert rig.config()["clock"]["enabled"] is True
    assert rig.stages[0] == ("resolving", 0.0, "Looking the plugin up in the registry")


async def test_a_plugin_the_registry_does_not_have_lands_nothing(rig: Rig) -> None:
    with pytest.raises(PlugvisorError) as caught:
        await rig.executor.prepare(install("nowhere"), rig.report, {})
    assert caught.value.code is ErrorCode.PLUGIN_NOT_FOUND
    assert rig.installed() == []


async def test_settle_rolls_forward_an_install_whose_files_landed(rig: Rig) -> None:
    landed = install("clock")
    await rig.executor.prepare(landed, rig.report, {})  # then the process died: no commit
    assert "clock" not in rig.config()
    assert await rig.executor.settle(landed) == {
        "plugin_id": "clock",
        "version": "1.0.0",
        "enabled": True,
        "message": "Plugin clock 1.0.0 installed",
    }
    assert rig.config()["clock"]["enabled"] is True
    assert await rig.executor.settle(landed) is not None  # idempotent: a second crash
    assert await rig.executor.settle(install("ticker")) is None  # never landed: rolled back


async def test_an_uninstall_drops_the_config_unless_asked_to_keep_it(rig: Rig) -> None:
    for plugin_id in ("clock", "ticker"):
        await rig.run(install(plugin_id))
    assert await rig.run(uninstall("clock", preserve_config=True)) == {
        "plugin_id": "clock",
        "preserve_config": True,
        "warnings": [],
        "message": "Plugin clock uninstalled (configuration kept)",
    }
    assert await rig.run(uninstall("ticker")) == {
        "plugin_id": "ticker",
        "preserve_config": False,
        "warnings": [],
        "message": "Plugin ticker uninstalled",
    }
    assert rig.installed() == []
    assert "clock" in rig.config() and "ticker" not in rig.config()


async def test_settle_finishes_an_uninstall_only_when_the_files_are_gone(rig: Rig) -> None:
    await rig.run(install("clock"))
    kept = uninstall("clock")
    assert await rig.executor.settle(kept) is None  # still installed: the removal was undone
    assert "clock" in rig.config()
    await rig.executor.prepare(kept, rig.report, {})  # removed, then the process died
    assert (await rig.executor.settle(kept))["message"] == "Plugin clock uninstalled"
    assert "clock" not in rig.config()


async def test_an_unknown_operation_type_is_refused(rig: Rig) -> None:
    with pytest.raises(PlugvisorError) as caught:
        await rig.executor.prepare(Operation("reboot", "clock", {}, "clock"), rig.report, {})
    assert caught.value.code is ErrorCode.INVALID_INPUT
