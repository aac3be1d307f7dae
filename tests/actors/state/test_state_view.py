"""The state is a view derived from its homes: plugins/ (installed), config (enabled), and its
own observations. It follows every path that changes config, writes nothing on a toggle, and
is rebuilt whole when its file is lost or damaged.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from actors.config_store import RestoreBackup, SavePluginConfig, SetPluginEnabled
from actors.events import Event
from actors.health_reasons import GetHealthReasons
from actors.installer.results import RECORD_FILE, InstalledRecord, PluginSource
from actors.state import FollowConfig, FollowOperation, GetAllStates, GetState, RescanPlugins
from actors.state.store import FILE_NAME
from actors.system import Settings, System, build_system
from tests.conftest import FIXTURES

RECORD = InstalledRecord(
    "clock-simple",
    "1.0.0",
    "2026-11-30T10:00:00.000Z",
    "2026-12-01T10:00:00.000Z",
    PluginSource("registry", url="https://example.invalid/r.git", registry_id="clock-simple"),
    operation_id="op-install-1",
)


def place(data_dir: Path, plugin_id: str = "clock-simple", **manifest: Any) -> Path:
    """Put a fixture plugin into plugins/ as an install would leave it."""
    folder = data_dir / "plugins" / plugin_id
    shutil.copytree(FIXTURES / "clock-simple", folder)
    document = orjson.loads((folder / "manifest.json").read_bytes())
    document.update({"id": plugin_id, **manifest})
    (folder / "manifest.json").write_bytes(orjson.dumps(document))
    record = RECORD.to_dict() | {"plugin_id": plugin_id}
    (folder / RECORD_FILE).write_bytes(orjson.dumps(record))
    return folder


@dataclass
class Running:
    system: System
    events: list[Event]

    async def ask(self, actor: str, message: Any) -> Any:
        return await self.system.tree.ref(actor).ask(message, timeout=10)

    async def state(self, plugin_id: str = "clock-simple") -> dict[str, Any] | None:
        return await self.ask("state", GetState(plugin_id))

    def state_file(self) -> Path:
        return self.system.paths.state_dir / FILE_NAME


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Running]:
    system = build_system(settings)
    events: list[Event] = []
    system.bus.subscribe(events.append, topics=["plugin_state"])
    await system.tree.start()
    try:
        yield Running(system, events)
    finally:
        await system.tree.stop()


@pytest.fixture
def data_dir(settings: Settings) -> Path:
    settings.data_dir.mkdir(parents=True)
    return settings.data_dir


async def test_the_view_is_composed_from_disk_and_config(settings: Settings, data_dir: Path):
    place(data_dir)
    async with running(settings) as r:
        assert await r.state() == {
            "plugin_id": "clock-simple",
            "status": "installed",  # no config section yet
            "enabled": False,
            "version": "1.0.0",
            "installed_at": "2026-11-30T10:00:00.000Z",
            "last_updated": "2026-12-01T10:00:00.000Z",
            "config_version": 1,
            "last_operation_id": "op-install-1",
            "health": "unknown",
            "metadata": {"source": RECORD.source.public(), "configured": False},
        }
        saved = await r.ask("config_store", SetPluginEnabled("clock-simple", True))
        state = await r.state()
        assert (state["status"], state["enabled"]) == ("enabled", True)
        assert state["config_version"] == saved.generation
        assert state["metadata"]["configured"] is True
        assert await r.state("not-there") is None


async def test_a_toggle_writes_only_the_config(settings: Settings, data_dir: Path) -> None:
    place(data_dir)
    async with running(settings) as r:
        await r.ask("config_store", SetPluginEnabled("clock-simple", True))
        before = r.state_file().stat() if r.state_file().exists() else None
        for enabled in (False, True, False):
            await r.ask("config_store", SetPluginEnabled("clock-simple", enabled))
            assert (await r.state())["enabled"] is enabled
        after = r.state_file().stat() if r.state_file().exists() else None
        assert (before and before.st_mtime_ns) == (after and after.st_mtime_ns)
        changes = [e.data["change"] for e in r.events if e.data["plugin_id"] == "clock-simple"]
        assert changes.count("config") == 4  # one event per real flip


async def test_side_paths_move_the_view_too(settings: Settings, data_dir: Path) -> None:
    place(data_dir)
    async with running(settings) as r:
        await r.ask("config_store", SetPluginEnabled("clock-simple", True))
        saved = await r.ask("config_store", SavePluginConfig("clock-simple", {"enabled": False}))
        assert (await r.state())["status"] == "disabled"
        await r.ask("config_store", RestoreBackup(saved.backup_id))  # taken while enabled
        assert (await r.state())["status"] == "enabled"


async def test_a_restart_rebuilds_the_view_from_config_whatever_the_state_file_said(
    settings: Settings, data_dir: Path
) -> None:
    place(data_dir)
    async with running(settings) as r:
        await r.ask("config_store", SetPluginEnabled("clock-simple", True))
    state_file = data_dir / "state" / FILE_NAME
    state_file.write_bytes(b'{"version": 2, "plugins": {}}')  # says nothing of enabled at all
    async with running(settings) as r:
        assert (await r.state())["enabled"] is True


async def test_a_lost_state_file_is_rebuilt_and_said(settings: Settings, data_dir: Path) -> None:
    place(data_dir)
    async with running(settings) as r:
        await r.ask("config_store", SetPluginEnabled("clock-simple", True))
        await r.ask("state", FollowOperation(_finished("op-1", "failed")))
    (data_dir / "state" / FILE_NAME).unlink()
    async with running(settings) as r:
        state = await r.state()
        assert (state["enabled"], state["status"]) == (True, "enabled")
        assert "last_error" not in state["metadata"]  # the one thing that was only there
        reasons = await r.ask("state", GetHealthReasons())
        assert [reason.code for reason in reasons] == ["state_file_lost"]


async def test_a_first_start_raises_no_reason(settings: Settings, data_dir: Path) -> None:
    async with running(settings) as r:
        assert await r.ask("state", GetHealthReasons()) == []
        assert await r.ask("state", GetAllStates()) == {}


@pytest.mark.parametrize("damage", ["garbage", "directory", "bad-entry"])
async def test_a_damaged_state_file_is_set_aside_and_the_view_rebuilt(
    settings: Settings, data_dir: Path, damage: str
) -> None:
    place(data_dir)
    async with running(settings) as r:
        await r.ask("config_store", SetPluginEnabled("clock-simple", True))
    path = data_dir / "state" / FILE_NAME
    path.unlink(missing_ok=True)
    if damage == "garbage":
        path.write_bytes(b"\x00{not json")
    elif damage == "directory":
        path.mkdir()
    else:
        path.write_bytes(b'{"version": 2, "plugins": {"clock-simple": {"last_error": 5}}}')
    async with running(settings) as r:
        assert (await r.state())["enabled"] is True
        reasons = await r.ask("state", GetHealthReasons())
        assert [reason.code for reason in reasons] == ["state_file_corrupt"]
        kept = [p.name for p in path.parent.iterdir() if p.name != FILE_NAME]
        assert len(kept) == 1 and kept[0].startswith(FILE_NAME + ".")
        assert kept[0] in reasons[0].detail
        assert orjson.loads(path.read_bytes())["version"] == 2  # rewritten, readable


async def test_operation_outcomes_are_observed_and_kept(settings: Settings, data_dir: Path):
    place(data_dir)
    async with running(settings) as r:
        await r.ask("state", FollowOperation(_finished("op-2", "failed")))
        state = await r.state()
        assert state["last_operation_id"] == "op-2"
        assert state["metadata"]["last_error"] == {
            "message": "it broke",
            "operation_id": "op-2",
            "since": "2026-12-01T11:00:00.000Z",
        }
        assert state["status"] == "installed"  # the installed copy still works
    async with running(settings) as r:
        assert (await r.state())["metadata"]["last_error"]["operation_id"] == "op-2"
        await r.ask("state", FollowOperation(_finished("op-3", "completed")))
        state = await r.state()
        assert (state["last_operation_id"], "last_error" in state["metadata"]) == ("op-3", False)


async def test_an_invalid_manifest_is_refused_as_an_install_would(settings, data_dir: Path):
    place(data_dir, version="1." + "0" * 5000)
    async with running(settings) as r:
        state = await r.state()
        assert state["status"] == "error"
        assert state["metadata"]["manifest_error"] == {
            "message": "manifest.json: 'version' must be at most 64 printable characters"
        }


async def test_a_late_config_event_never_overwrites_a_newer_one(settings, data_dir: Path):
    place(data_dir)
    async with running(settings) as r:
        newer = await r.ask("config_store", SetPluginEnabled("clock-simple", True))
        await r.ask("state", FollowConfig(newer.generation - 1, None, {"clock-simple": False}))
        assert (await r.state())["enabled"] is True


async def test_a_rescan_follows_plugins_that_come_and_go(settings, data_dir: Path) -> None:
    async with running(settings) as r:
        folder = place(data_dir)
        await r.ask("state", RescanPlugins())
        assert (await r.state())["version"] == "1.0.0"
        shutil.rmtree(folder)
        await r.ask("state", RescanPlugins(("clock-simple",)))
        assert await r.state() is None
        assert [e.data["change"] for e in r.events] == ["rescan", "removed"]


async def test_a_format_1_file_keeps_its_observations(settings, data_dir: Path) -> None:
    place(data_dir)
    (data_dir / "state").mkdir()
    old = {
        "version": 1,
        "states": {
            "clock-simple": {
                "plugin_id": "clock-simple",
                "status": "enabled",
                "enabled": True,
                "last_operation_id": "op-old",
                "metadata": {},
            }
        },
    }
    (data_dir / "state" / FILE_NAME).write_bytes(orjson.dumps(old))
    async with running(settings) as r:
        state = await r.state()
        assert (state["last_operation_id"], state["enabled"]) == ("op-old", False)
        assert orjson.loads(r.state_file().read_bytes())["version"] == 2


def _finished(operation_id: str, status: str) -> dict[str, Any]:
    error = {"error_code": "PLUGIN_UPDATE_FAILED", "message": "it broke"}
    return {
        "operation_id": operation_id,
        "operation_type": "update",
        "plugin_id": "clock-simple",
        "status": status,
        "message": "it broke" if status == "failed" else "done",
        "error": error if status == "failed" else None,
        "result": None,
        "completed_at": "2026-12-01T11:00:00.000Z",
    }
