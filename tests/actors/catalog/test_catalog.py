"""The catalog actor in a real tree: the store listing from a real registry file, the installed
plugins as users see them, registry entries as the registry has them now, and its cache/."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from actors.catalog.messages import ListInstalled, ListStore, RefreshRegistry, ResolveRegistryEntry
from actors.errors import ErrorCode, PlugvisorError
from actors.health_reasons import GetHealthReasons
from actors.installer import Installer
from actors.state.messages import RescanPlugins
from actors.system import Settings, System, build_system
from supervision import ActorRef
from tests.actors.installer.installer_helpers import GitRepo, plugin_files, registry_entry
from tests.conftest import FIXTURES
from tests.web.plugin_env import PluginEnv, make_env

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
REAL_REGISTRY = json.loads((FIXTURES / "registry-plugins.json").read_text())


def real_entry(plugin_id: str) -> dict[str, Any]:
    return next(entry for entry in REAL_REGISTRY["plugins"] if entry["id"] == plugin_id)


@asynccontextmanager
async def running(
    settings: Settings, before_start: Callable[[System], None] | None = None
) -> AsyncIterator[System]:
    system = build_system(settings)
    if before_start is not None:
        before_start(system)
    await system.tree.start()
    try:
        yield system
    finally:
        await system.tree.stop()


def catalog(system: System) -> ActorRef:
    return system.tree.ref("catalog")


def copy_fixtures(system: System) -> None:
    """Two real LEDMatrix plugin folders, put in place by hand (no install record)."""
    shutil.copytree(FIXTURES / "clock-simple", system.paths.plugins_dir / "clock-simple")
    shutil.copytree(FIXTURES / "weather", system.paths.plugins_dir / "ledmatrix-weather")


def timeless(status: dict[str, Any]) -> dict[str, Any]:
    """A registry status without its ``fetched_at``, which must be a contract time."""
    status = dict(status)
    assert TIME.fullmatch(status.pop("fetched_at"))
    return status


@pytest.fixture
def real_registry(tmp_path: Path) -> Settings:
    path = tmp_path / "plugins.json"
    shutil.copy(FIXTURES / "registry-plugins.json", path)
    return Settings(data_dir=tmp_path / "data", registry_url=str(path))


async def test_the_store_lists_the_real_registry_and_what_is_installed(
    real_registry: Settings,
) -> None:
    async with running(real_registry, copy_fixtures) as system:
        everything = await catalog(system).ask(ListStore())
        clock = await catalog(system).ask(ListStore(query="CLOCK"))
        sports = await catalog(system).ask(ListStore(category="sports"))
        forecast = await catalog(system).ask(ListStore(tag="forecast"))
        nothing = await catalog(system).ask(ListStore(query="clock", category="sports"))

    listed = [entry["id"] for entry in everything["plugins"]]
    assert listed == [entry["id"] for entry in REAL_REGISTRY["plugins"]]
    assert timeless(everything["registry"]) == {"available": True, "stale": False, "error": None}
    # A folder with the entry's id is its copy; without an install record its version is unknown.
    assert clock["plugins"] == [
        {**real_entry("clock-simple"), "installed": True, "installed_version": "unknown"}
    ]
    assert {entry["id"] for entry in sports["plugins"]} == {
        entry["id"] for entry in REAL_REGISTRY["plugins"] if entry["category"] == "sports"
    }
    # ledmatrix-weather was put there by hand: nothing says it came from the entry "weather".
    assert forecast["plugins"] == [
        {**real_entry("weather"), "installed": False, "installed_version": None}
    ]
    assert nothing["plugins"] == []


async def test_installed_plugins_read_from_their_folders_and_the_state(
    real_registry: Settings,
) -> None:
    def with_a_broken_one(system: System) -> None:
        copy_fixtures(system)
        broken = system.paths.plugins_dir / "broken"
        broken.mkdir()
        (broken / "manifest.json").write_text("{not json")

    async with running(real_registry, with_a_broken_one) as system:
        await catalog(system).ask(RefreshRegistry())  # the listing never waits for the registry
        broken, clock, weather = await catalog(system).ask(ListInstalled())

    assert clock == {
        "id": "clock-simple",
        "name": "Simple Clock",
        "version": "1.0.4",  # the manifest's: there is no install record
        "author": "ChuckBuilds",
        "description": "A simple clock display with current time and date",
        "category": "time",
        "tags": ["clock", "time", "date"],
        "enabled": False,
        "status": "installed",
        "health": "unknown",
        "update_available": False,  # the registry's 1.0.0 is older
        "latest_version": "1.0.0",
        "installed_at": None,
        "last_updated": None,
        "source": None,
    }
    assert broken["status"] == "error" and broken["name"] == "broken"
    assert broken["error"].startswith("Plugin 'broken': manifest.json is not valid JSON")
    assert (weather["id"], weather["version"], weather["latest_version"]) == (
        "ledmatrix-weather",
        "2.0.9",
        None,  # no record names its entry, and no entry has its id
    )


async def test_an_installed_copy_shows_its_record_and_a_newer_registry_version(
    tmp_path: Path,
) -> None:
    env: PluginEnv = make_env(tmp_path)
    settings = env.settings()
    async with running(settings) as system:
        entry = await catalog(system).ask(ResolveRegistryEntry("clock"))
        await Installer(system.paths, pip=settings.pip).install_from_registry(entry)
        await system.tree.ref("state").ask(RescanPlugins(("clock",)))
        [installed] = await catalog(system).ask(ListInstalled())

        env.add_entry({**env.entries[0], "latest_version": "1.1.0"})
        refreshed = await catalog(system).ask(RefreshRegistry())
        [newer] = await catalog(system).ask(ListInstalled())
        store = await catalog(system).ask(ListStore(query="clock"))

    assert TIME.fullmatch(installed.pop("installed_at"))
    assert TIME.fullmatch(installed.pop("last_updated"))
    assert installed == {
        "id": "clock",
        "name": "Plugin clock",
        "version": "1.0.0",
        "author": "tests",
        "description": None,
        "category": None,
        "tags": [],
        "enabled": False,  # the installer lands files; a config section is the queue's commit
        "status": "installed",
        "health": "unknown",
        "update_available": False,
        "latest_version": "1.0.0",
        "source": {
            "type": "registry",
            "url": env.repos["clock"].url,
            "branch": "main",
            "commit": env.repos["clock"].head(),
            "plugin_path": None,
            "registry_id": "clock",
            "requested_branch": None,
            "archive_sha256": None,
            "archive_name": None,
        },
    }
    assert timeless(refreshed) == {
        "plugin_count": 2,
        "available": True,
        "stale": False,
        "error": None,
    }
    assert (newer["update_available"], newer["latest_version"]) == (True, "1.1.0")
    [listed] = store["plugins"]
    assert (listed["installed"], listed["installed_version"]) == (True, "1.0.0")


async def test_an_entry_is_resolved_as_the_registry_has_it_now(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    mono = GitRepo(tmp_path / "repos" / "mono")
    mono.commit(plugin_files("scores"), under="plugins/scores")
    env.add_entry(registry_entry("nhl-scores", mono.url, plugin_path="plugins/scores"))
    async with running(env.settings()) as system:
        clock = await catalog(system).ask(ResolveRegistryEntry("clock"))
        by_path = await catalog(system).ask(ResolveRegistryEntry("scores"))
        with pytest.raises(PlugvisorError) as missing:
            await catalog(system).ask(ResolveRegistryEntry("late"))
        env.add_plugin("late")  # published while the supervisor runs
        late = await catalog(system).ask(ResolveRegistryEntry("late"))

    assert (clock.id, clock.latest_version) == ("clock", "1.0.0")
    assert clock.repo == env.repos["clock"].url
    assert (by_path.id, by_path.plugin_path) == ("nhl-scores", "plugins/scores")
    assert missing.value.code is ErrorCode.PLUGIN_NOT_FOUND
    assert late.id == "late"


async def test_no_registry_and_no_copy_is_unavailable_until_the_registry_appears(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plugins.json"
    async with running(Settings(data_dir=tmp_path / "data", registry_url=str(path))) as system:
        with pytest.raises(PlugvisorError) as caught:
            await catalog(system).ask(ResolveRegistryEntry("clock-simple"))
        store = await catalog(system).ask(ListStore())
        [reason] = await catalog(system).ask(GetHealthReasons())

        shutil.copy(FIXTURES / "registry-plugins.json", path)
        refreshed = await catalog(system).ask(RefreshRegistry())
        reasons_after = await catalog(system).ask(GetHealthReasons())
        entry = await catalog(system).ask(ResolveRegistryEntry("clock-simple"))

    assert caught.value.code is ErrorCode.REGISTRY_UNAVAILABLE
    error = store["registry"]["error"]
    assert error is not None and caught.value.message.endswith(error)
    assert store == {
        "plugins": [],
        "registry": {"available": False, "fetched_at": None, "stale": True, "error": error},
    }
    assert (reason.code, reason.detail) == ("registry_unreachable", error)
    assert TIME.fullmatch(reason.since)
    assert timeless(refreshed) == {
        "plugin_count": len(REAL_REGISTRY["plugins"]),
        "available": True,
        "stale": False,
        "error": None,
    }
    assert reasons_after == []
    assert entry.raw == real_entry("clock-simple")


async def test_the_catalogs_copy_in_cache_answers_when_the_registry_is_gone(
    real_registry: Settings,
) -> None:
    async with running(real_registry) as system:
        first = await catalog(system).ask(ListStore())
    [copy] = (real_registry.data_dir / "cache").iterdir()
    assert re.fullmatch(r"registry-[0-9a-f]{16}\.json", copy.name)
    Path(real_registry.registry_url).unlink()

    async with running(real_registry) as system:
        # Resolving waits for the first load (the listing would not: it answers whatever
        # copy is in memory, and the copy read back from cache/ is not yet marked stale).
        entry = await catalog(system).ask(ResolveRegistryEntry("weather"))
        store = await catalog(system).ask(ListStore())
    assert store["plugins"] == first["plugins"]
    status = store["registry"]
    assert (status["available"], status["stale"]) == (True, True)
    assert status["fetched_at"] == first["registry"]["fetched_at"]  # the copy's own time
    assert status["error"]
    assert entry.raw == real_entry("weather")
    assert [p.name for p in (real_registry.data_dir / "cache").iterdir()] == [copy.name]
