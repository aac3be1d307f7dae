"""Folding the events that raced a snapshot into it, so the snapshot is exact at its seq."""

from __future__ import annotations

from typing import Any

from actors.events import Event
from web.feed_session import fold


def _op(op_id: str, status: str, position: int | None, stage: str = "queued") -> dict[str, Any]:
    return {"operation_id": op_id, "status": status, "position": position, "stage": stage}


HEALTH = {"status": "ok", "reasons": []}


def test_events_the_snapshot_missed_are_applied_in_order() -> None:
    plugins = {"clock": {"enabled": True}}
    operations = [_op("a", "running", None), _op("b", "pending", 0)]
    events = [
        Event(5, "plugin_state", {"plugin_id": "ticker", "state": {"enabled": False}}),
        Event(6, "plugin_state", {"plugin_id": "clock", "state": None, "change": "removed"}),
        Event(7, "operation", _op("a", "completed", None, "done")),
        Event(8, "operation", _op("b", "running", None, "resolving")),
        Event(9, "operation", _op("c", "pending", 0)),
        Event(10, "config", {"kind": "enable", "plugin_id": "ticker"}),
        Event(11, "plugin_state", {"plugin_id": "ticker", "state": {"enabled": True}}),
    ]
    assert fold(plugins, operations, HEALTH, events) == (
        {"ticker": {"enabled": True}},
        [_op("b", "running", None, "resolving"), _op("c", "pending", 0)],
        HEALTH,
    )


def test_events_the_snapshot_already_reflects_change_nothing() -> None:
    plugins = {"clock": {"enabled": False}}
    operations = [_op("a", "running", None, "downloading")]
    events = [
        Event(3, "plugin_state", {"plugin_id": "clock", "state": {"enabled": False}}),
        Event(4, "operation", _op("a", "running", None, "downloading")),
    ]
    assert fold(plugins, operations, HEALTH, events) == (plugins, operations, HEALTH)


def test_a_health_event_with_a_summary_replaces_the_health() -> None:
    bad = {"status": "degraded", "reasons": [{"code": "low_disk_space"}], "extra": 1}
    events = [Event(2, "health", bad), Event(3, "reconcile", {"fixed": []})]
    assert fold({}, [], HEALTH, events) == (
        {},
        [],
        {"status": "degraded", "reasons": [{"code": "low_disk_space"}]},
    )


def test_a_plugin_health_event_leaves_the_supervisor_health_alone() -> None:
    plugin = {"kind": "plugin", "plugin_id": "clock", "health": {"status": "unhealthy"}}
    marked = {"kind": "plugin", "plugin_id": "clock", "status": "unhealthy", "reasons": []}
    supervisor = {"kind": "supervisor", "status": "degraded", "reasons": [{"code": "x"}]}
    events = [Event(2, "health", plugin), Event(3, "health", marked)]
    assert fold({}, [], HEALTH, events) == ({}, [], HEALTH)
    events.append(Event(4, "health", supervisor))
    assert fold({}, [], HEALTH, events)[2] == {"status": "degraded", "reasons": [{"code": "x"}]}


def test_inputs_are_not_mutated() -> None:
    plugins: dict[str, Any] = {}
    operations: list[dict[str, Any]] = []
    fold(plugins, operations, HEALTH, [Event(1, "operation", _op("a", "pending", 0))])
    assert plugins == {} and operations == []
