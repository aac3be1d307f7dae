"""Discovery of plugins on disk at start and on request, and a damaged state file at start."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from actors.events import Event, EventBus
from actors.fsio import Syncer
from actors.health_reasons import GetHealthReasons
from actors.paths import DataPaths
from actors.state.actor import StateActor
from actors.state.messages import (
    DiscoverPlugins,
    DiscoveryReport,
    GetAllStates,
    GetState,
    SetEnabled,
    SetInstalled,
)
from supervision import ActorRef, ChildSpec, Supervisor

Start = Callable[..., Any]
T0 = "2026-11-26T10:00:00.000Z"


@pytest.fixture
async def start(paths: DataPaths, events: list[Event]) -> AsyncIterator[Start]:
    bus = EventBus()
    bus.subscribe(events.append, topics=("plugin_state",))
    trees: list[Supervisor] = []

    async def run(**options: Any) -> ActorRef:
        tree = Supervisor("root", [ChildSpec("state", lambda: StateActor(paths, bus, **options))])
        await tree.start()
        trees.append(tree)
        return tree.ref("state")

    yield run
    for tree in trees:
        await tree.stop()


def write_plugin(paths: DataPaths, name: str, manifest: bytes | None) -> Path:
    folder = paths.plugins_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    if manifest is not None:
        (folder / "manifest.json").write_bytes(manifest)
    return folder


def state_file(paths: DataPaths) -> Path:
    return paths.state_dir / "plugin_state.json"


async def test_start_discovers_plugins_and_marks_the_broken_and_the_vanished(
    paths: DataPaths, start: Start, events: list[Event]
) -> None:
    write_plugin(paths, "clock", b'{"id": "clock", "version": "1.0.4", "name": "Clock"}')
    write_plugin(paths, "gone", b'{"id": "gone", "version": "2.0.0"}')
    ref = await start()
    await ref.ask(SetInstalled("gone", "2.0.0", T0, enabled=True), timeout=5)
    for folder in (paths.plugins_dir / "gone").iterdir():
        folder.unlink()
    (paths.plugins_dir / "gone").rmdir()
    write_plugin(paths, "broken", b"{not json")
    write_plugin(paths, "no-manifest", None)
    write_plugin(paths, "other", b'{"id": "someone-else"}')
    write_plugin(paths, ".staging-clock", b"{}")
    write_plugin(paths, "Bad Name", b"{}")
    (paths.plugins_dir / "stray-file").write_text("x")
    events.clear()

    report = await ref.ask(DiscoverPlugins(), timeout=5)
    assert report == DiscoveryReport(
        added=("broken", "no-manifest", "other"),
        invalid=("broken", "no-manifest", "other"),
        recovered=(),
        missing=("gone",),
        ignored=("Bad Name",),
    )
    states = await ref.ask(GetAllStates(), timeout=5)
    assert sorted(states) == ["broken", "clock", "gone", "no-manifest", "other"]
    assert states["clock"] == {
        "plugin_id": "clock",
        "status": "installed",
        "enabled": False,
        "version": "1.0.4",
        "installed_at": None,
        "last_updated": None,
        "config_version": 1,
        "last_operation_id": None,
        "health": "unknown",
        "metadata": {"source": {"type": "discovered"}},
    }
    broken = states["broken"]["metadata"]["manifest_error"]
    assert (states["broken"]["status"], broken["message"]) == (
        "error",
        "manifest.json is not valid JSON",
    )
    assert states["no-manifest"]["metadata"]["manifest_error"]["message"] == (
        "manifest.json is missing"
    )
    assert states["other"]["metadata"]["manifest_error"]["message"] == (
        "manifest.json 'id' does not match the directory name"
    )
    gone = states["gone"]
    assert (gone["status"], gone["enabled"]) == ("unknown", True)
    assert gone["metadata"]["missing_on_disk"] == {
        "since": gone["metadata"]["missing_on_disk"]["since"],
        "reason": "plugin directory not found",
        "previous_status": "enabled",
    }
    assert [(e.data["plugin_id"], e.data["change"]) for e in events] == [
        ("broken", "manifest_invalid"),
        ("no-manifest", "manifest_invalid"),
        ("other", "manifest_invalid"),
        ("gone", "missing_on_disk"),
    ]
    assert [e.data["state"] for e in events] == [states[e.data["plugin_id"]] for e in events]

    # nothing new on disk: nothing written, nothing published
    syncer_events = len(events)
    assert (await ref.ask(DiscoverPlugins(), timeout=5)).added == ()
    assert len(events) == syncer_events

    # the plugin comes back and a manifest is fixed: both recover their status
    write_plugin(paths, "gone", b'{"id": "gone", "version": "2.0.0"}')
    write_plugin(paths, "broken", b'{"id": "broken", "version": "0.1.0"}')
    report = await ref.ask(DiscoverPlugins(), timeout=5)
    assert report.recovered == ("broken", "gone")
    assert (await ref.ask(GetState("gone"), timeout=5))["status"] == "enabled"
    assert (await ref.ask(GetState("broken"), timeout=5))["status"] == "installed"
    assert [e.data["change"] for e in events[syncer_events:]] == ["recovered", "recovered"]


async def test_a_toggle_while_missing_is_kept_for_when_it_returns(
    paths: DataPaths, start: Start
) -> None:
    folder = write_plugin(paths, "clock", b'{"id": "clock"}')
    ref = await start()
    (folder / "manifest.json").unlink()
    folder.rmdir()
    await ref.ask(DiscoverPlugins(), timeout=5)
    state = await ref.ask(SetEnabled("clock", True), timeout=5)
    assert (state["status"], state["enabled"]) == ("unknown", True)
    write_plugin(paths, "clock", b'{"id": "clock"}')
    await ref.ask(DiscoverPlugins(), timeout=5)
    assert (await ref.ask(GetState("clock"), timeout=5))["status"] == "enabled"


async def test_a_corrupt_state_file_is_kept_aside_and_rebuilt_from_disk(
    paths: DataPaths, start: Start
) -> None:
    write_plugin(paths, "clock", b'{"id": "clock", "version": "1.0.4"}')
    garbage = b'{"version": 1, "states": {"clock": {"plugin_id": "cl'
    state_file(paths).write_bytes(garbage)
    ref = await start()
    [aside] = [p for p in paths.state_dir.iterdir() if p.name.startswith("plugin_state.json.")]
    assert aside.name.startswith("plugin_state.json.corrupt-")
    assert aside.read_bytes() == garbage
    document = orjson.loads(state_file(paths).read_bytes())
    assert list(document["states"]) == ["clock"]
    assert (await ref.ask(GetState("clock"), timeout=5))["version"] == "1.0.4"
    [reason] = await ref.ask(GetHealthReasons(), timeout=5)
    assert reason.code == "state_file_corrupt"
    assert reason.since
    assert reason.remediation
    assert aside.name in (reason.detail or "")
    assert str(paths.root) not in reason.message + (reason.detail or "")


async def test_invalid_entries_are_dropped_and_the_rest_kept(
    paths: DataPaths, start: Start
) -> None:
    write_plugin(paths, "clock", b'{"id": "clock"}')
    write_plugin(paths, "weather", b'{"id": "weather"}')
    good = {
        "plugin_id": "clock",
        "status": "enabled",
        "enabled": True,
        "version": "1.0.0",
        "installed_at": T0,
        "last_updated": T0,
        "config_version": 4,
        "last_operation_id": "op-1",
        "health": "healthy",
        "metadata": {},
    }
    bad = good | {"plugin_id": "weather", "enabled": "yes"}
    raw = orjson.dumps({"version": 1, "states": {"clock": good, "weather": bad, "../x": good}})
    state_file(paths).write_bytes(raw)
    ref = await start()
    states = await ref.ask(GetAllStates(), timeout=5)
    assert states["clock"] == good | {"health": "unknown"}
    assert states["weather"]["metadata"] == {"source": {"type": "discovered"}}
    [reason] = await ref.ask(GetHealthReasons(), timeout=5)
    assert reason.code == "state_file_corrupt"
    assert "2 invalid entries dropped" in (reason.detail or "")
    [aside] = paths.state_dir.glob("plugin_state.json.corrupt-*")
    assert aside.read_bytes() == raw


async def test_a_healthy_start_reports_no_reason_and_writes_nothing(
    paths: DataPaths, start: Start
) -> None:
    syncer = Syncer()
    ref = await start(syncer=syncer)
    assert await ref.ask(GetHealthReasons(), timeout=5) == []
    assert await ref.ask(GetAllStates(), timeout=5) == {}
    assert syncer.count == 0
    assert not state_file(paths).exists()
