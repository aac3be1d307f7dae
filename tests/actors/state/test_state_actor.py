"""The state actor under a real supervisor: answers, durability, group commit, events, copies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from actors.errors import ErrorCode, PlugvisorError
from actors.events import Event, EventBus
from actors.fsio import Syncer
from actors.paths import DataPaths
from actors.state.actor import StateActor
from actors.state.messages import (
    GetAllStates,
    GetState,
    RemoveState,
    SetEnabled,
    SetError,
    SetHealth,
    SetInstalled,
    SetUpdated,
)
from supervision import ActorRef, ChildSpec, Supervisor

Start = Callable[..., Any]
T0 = "2026-11-26T10:00:00.000Z"


class FailingSyncer(Syncer):
    fail = False

    def fsync(self, fd: int) -> None:
        if self.fail:
            raise OSError(5, "Input/output error")
        super().fsync(fd)


@pytest.fixture
def bus(events: list[Event]) -> EventBus:
    bus = EventBus()
    bus.subscribe(events.append, topics=("plugin_state",))
    return bus


@pytest.fixture
async def start(paths: DataPaths, bus: EventBus) -> AsyncIterator[Start]:
    trees: list[Supervisor] = []

    async def run(**options: Any) -> ActorRef:
        tree = Supervisor("root", [ChildSpec("state", lambda: StateActor(paths, bus, **options))])
        await tree.start()
        trees.append(tree)
        return tree.ref("state")

    yield run
    for tree in trees:
        await tree.stop()


def plugin_dir(paths: DataPaths, plugin_id: str, version: str = "1.0.0") -> Path:
    folder = paths.plugins_dir / plugin_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_bytes(orjson.dumps({"id": plugin_id, "version": version}))
    return folder


def stored(paths: DataPaths) -> dict[str, Any]:
    return orjson.loads((paths.state_dir / "plugin_state.json").read_bytes())["states"]


def installed(plugin_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "plugin_id": plugin_id,
        "status": "installed",
        "enabled": False,
        "version": "1.0.0",
        "installed_at": T0,
        "last_updated": T0,
        "config_version": 1,
        "last_operation_id": None,
        "health": "unknown",
        "metadata": {},
    } | fields


async def test_install_then_toggle_is_durable_and_published_exactly(
    paths: DataPaths, start: Start, events: list[Event]
) -> None:
    plugin_dir(paths, "clock")  # discovered at start: no state written for it yet
    syncer = Syncer()
    ref = await start(syncer=syncer)
    syncer.count = 0
    events.clear()
    state = await ref.ask(
        SetInstalled("clock", "1.0.0", T0, {"type": "registry"}, False, "op-1"), timeout=5
    )
    expected = installed("clock", config_version=2, last_operation_id="op-1")
    expected["metadata"] = {"source": {"type": "registry"}}
    assert state == expected
    assert stored(paths) == {"clock": expected}
    assert syncer.count == 2  # the file and its folder
    toggled = await ref.ask(SetEnabled("clock", True, "op-2"), timeout=5)
    assert toggled == expected | {
        "status": "enabled",
        "enabled": True,
        "config_version": 3,
        "last_operation_id": "op-2",
    }
    assert stored(paths)["clock"] == toggled
    assert [(e.topic, e.data) for e in events] == [
        ("plugin_state", {"plugin_id": "clock", "state": expected, "change": "installed"}),
        ("plugin_state", {"plugin_id": "clock", "state": toggled, "change": "enabled"}),
    ]


async def test_nothing_is_written_or_published_when_nothing_changes(
    paths: DataPaths, start: Start, events: list[Event]
) -> None:
    plugin_dir(paths, "clock")
    syncer = Syncer()
    ref = await start(syncer=syncer)
    await ref.ask(SetInstalled("clock", "1.0.0", T0), timeout=5)
    await ref.ask(SetEnabled("clock", False), timeout=5)
    writes, published = syncer.count, len(events)
    assert (await ref.ask(SetEnabled("clock", False), timeout=5))["status"] == "disabled"
    await ref.ask(SetHealth("clock", "healthy"), timeout=5)  # runtime only: published, not written
    await ref.ask(SetHealth("clock", "healthy"), timeout=5)
    assert await ref.ask(SetHealth("ghost", "healthy"), timeout=5) is None
    assert await ref.ask(RemoveState("ghost"), timeout=5) is False
    assert syncer.count == writes
    assert [e.data["change"] for e in events[published:]] == ["health"]
    assert stored(paths)["clock"]["health"] == "unknown"


async def test_changes_waiting_in_the_mailbox_are_written_once(
    paths: DataPaths, start: Start
) -> None:
    for n in range(20):
        plugin_dir(paths, f"p{n}")
    syncer = Syncer(delay_s=0.02)
    ref = await start(syncer=syncer)
    syncer.count = 0

    async def toggle(n: int) -> None:
        state = await ref.ask(SetEnabled(f"p{n}", True), timeout=10)
        assert stored(paths)[f"p{n}"] == state  # durable when answered

    await asyncio.gather(*(toggle(n) for n in range(20)))
    assert syncer.count <= 4  # 20 changes, at most two writes (file + folder each)
    assert all(s["status"] == "enabled" for s in stored(paths).values())


async def test_answers_and_events_are_copies(
    paths: DataPaths, start: Start, events: list[Event]
) -> None:
    plugin_dir(paths, "clock")
    ref = await start()
    state = await ref.ask(SetInstalled("clock", "1.0.0", T0, {"type": "git"}), timeout=5)
    state["metadata"]["source"]["type"] = "tampered"
    events[-1].data["state"]["metadata"]["source"]["type"] = "tampered too"
    all_states = await ref.ask(GetAllStates(), timeout=5)
    all_states["clock"]["enabled"] = True
    fresh = await ref.ask(GetState("clock"), timeout=5)
    assert fresh["metadata"] == {"source": {"type": "git"}}
    assert fresh["enabled"] is False
    assert await ref.ask(GetState("absent"), timeout=5) is None


async def test_bad_requests_are_refused_and_change_nothing(paths: DataPaths, start: Start) -> None:
    plugin_dir(paths, "clock")
    ref = await start()
    cases = [
        (SetEnabled("clock", "false"), ErrorCode.INVALID_INPUT, "enabled"),  # type: ignore[arg-type]
        (SetEnabled("clock", 1), ErrorCode.INVALID_INPUT, "enabled"),  # type: ignore[arg-type]
        (SetEnabled("../x", True), ErrorCode.INVALID_INPUT, "plugin_id"),
        (SetEnabled("weather", True), ErrorCode.PLUGIN_NOT_FOUND, None),
        (SetUpdated("weather", "2.0"), ErrorCode.PLUGIN_NOT_FOUND, None),
        (SetInstalled("clock", installed_at="never"), ErrorCode.INVALID_INPUT, "installed_at"),
        (SetHealth("clock", "great"), ErrorCode.INVALID_INPUT, "health"),
        (SetError("clock", ""), ErrorCode.INVALID_INPUT, "error"),
        (GetState("display"), ErrorCode.INVALID_INPUT, "plugin_id"),
    ]
    before = await ref.ask(GetAllStates(), timeout=5)
    for message, code, field in cases:
        with pytest.raises(PlugvisorError) as caught:
            await ref.ask(message, timeout=5)
        assert caught.value.code is code
        assert caught.value.context.get("field") == field
    assert await ref.ask(GetAllStates(), timeout=5) == before


async def test_a_batch_mixing_good_and_bad_answers_each_alone(
    paths: DataPaths, start: Start
) -> None:
    plugin_dir(paths, "clock")
    ref = await start()
    good, bad, removed = await asyncio.gather(
        ref.ask(SetEnabled("clock", True), timeout=5),
        ref.ask(SetEnabled("nope", True), timeout=5),
        ref.ask(RemoveState("clock"), timeout=5),
        return_exceptions=True,
    )
    assert good["enabled"] is True
    assert isinstance(bad, PlugvisorError)
    assert bad.code is ErrorCode.PLUGIN_NOT_FOUND
    assert removed is True
    assert stored(paths) == {}


async def test_error_update_and_remove(paths: DataPaths, start: Start, events: list[Event]) -> None:
    plugin_dir(paths, "clock")
    ref = await start()
    await ref.ask(SetInstalled("clock", "1.0.0", T0, enabled=True), timeout=5)
    failed = await ref.ask(SetError("clock", "dependency install failed", "op-9"), timeout=5)
    assert failed["status"] == "error"
    assert failed["enabled"] is True
    since = failed["metadata"]["last_error"]["since"]
    assert failed["metadata"] == {
        "source": {"type": "discovered"},  # kept from discovery: SetInstalled gave no source
        "last_error": {
            "message": "dependency install failed",
            "since": since,
            "operation_id": "op-9",
            "previous_status": "enabled",
        },
    }
    disabled = await ref.ask(SetEnabled("clock", False), timeout=5)
    assert (disabled["status"], disabled["enabled"]) == ("error", False)
    updated = await ref.ask(SetUpdated("clock", "1.1.0", "2026-11-27T00:00:00Z"), timeout=5)
    assert updated["status"] == "disabled"
    assert (updated["version"], updated["last_updated"]) == ("1.1.0", "2026-11-27T00:00:00.000Z")
    assert updated["metadata"] == {"source": {"type": "discovered"}}
    assert await ref.ask(RemoveState("clock", "op-10"), timeout=5) is True
    assert events[-1].data == {"plugin_id": "clock", "state": None, "change": "removed"}
    assert [e.data["change"] for e in events[-5:]] == [
        "installed",
        "error",
        "disabled",
        "updated",
        "removed",
    ]
    assert stored(paths) == {}


async def test_state_survives_a_restart_with_health_back_to_unknown(
    paths: DataPaths, start: Start
) -> None:
    plugin_dir(paths, "clock")
    ref = await start()
    await ref.ask(SetInstalled("clock", "1.0.0", T0, enabled=True), timeout=5)
    before = await ref.ask(SetHealth("clock", "degraded"), timeout=5)
    syncer = Syncer()
    again = await start(syncer=syncer)
    assert await again.ask(GetState("clock"), timeout=5) == before | {"health": "unknown"}
    assert syncer.count == 0  # nothing changed: nothing written at start


async def test_a_failed_save_is_an_error_and_leaves_memory_as_the_disk(
    paths: DataPaths, start: Start, events: list[Event]
) -> None:
    plugin_dir(paths, "clock")
    syncer = FailingSyncer()
    ref = await start(syncer=syncer)
    await ref.ask(SetInstalled("clock", "1.0.0", T0), timeout=5)
    published = len(events)
    syncer.fail = True
    with pytest.raises(PlugvisorError) as caught:
        await ref.ask(SetEnabled("clock", True), timeout=5)
    assert caught.value.code is ErrorCode.SYSTEM_ERROR
    assert caught.value.message == "Could not save the plugin state: Input/output error"
    assert (await ref.ask(GetState("clock"), timeout=5))["enabled"] is False
    assert len(events) == published
    syncer.fail = False
    assert (await ref.ask(SetEnabled("clock", True), timeout=5))["enabled"] is True
    assert stored(paths)["clock"]["enabled"] is True
