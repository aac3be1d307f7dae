"""Detection over hand-made facts: each type, its fix, and what must not be reported."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from actors.reconciler.checks import (
    AUTO_FIX,
    ENSURE_ENTRY,
    FOLLOW_CONFIG,
    MANUAL,
    NONE,
    REINSTALL,
    DiskFacts,
    Facts,
    detect,
)

OK = DiskFacts("1.0.0", "1.0.0")


def state(enabled: bool, status: str | None = None, **metadata: Any) -> dict[str, Any]:
    shown = status or ("enabled" if enabled else "disabled")
    return {"enabled": enabled, "status": shown, "metadata": metadata}


def facts(**changes: Any) -> Facts:
    base = Facts(
        config={"clock": True},
        config_stable=True,
        states={"clock": state(True)},
        state_reasons=[],
        disk={"clock": OK},
        tombstoned=frozenset(),
        active={},
        busy=False,
        staging=[],
        interrupted=[],
        registry={},
        attempts={},
        max_attempts=3,
    )
    return replace(base, **changes)


def kinds(found: Facts) -> list[tuple[str | None, str, str, str | None]]:
    return [(f.plugin_id, f.type, f.fix_action, f.fix) for f in detect(found)]


def test_consistent_facts_report_nothing() -> None:
    assert detect(facts()) == []


def test_a_folder_without_a_config_section_gets_one() -> None:
    found = facts(disk={"clock": OK, "hand": OK}, states={"clock": state(True)})
    assert kinds(found) == [("hand", "plugin_missing_in_config", AUTO_FIX, ENSURE_ENTRY)]
    assert "disabled" in detect(found)[0].description


def test_a_missing_folder_is_reinstalled_only_within_budget_and_when_offered() -> None:
    missing = facts(disk={}, states={}, registry={"clock": "found"})
    assert kinds(missing) == [("clock", "plugin_missing_on_disk", AUTO_FIX, REINSTALL)]
    spent = replace(missing, attempts={"clock": 3})
    assert kinds(spent) == [("clock", "plugin_missing_on_disk", MANUAL, None)]
    assert "force: true" in detect(spent)[0].description
    for registry in ({"clock": "not_found"}, {"clock": "unavailable"}, {}):
        assert kinds(replace(missing, registry=registry))[0][2] == MANUAL
    unreadable = replace(missing, tombstoned=None)
    assert kinds(unreadable) == [("clock", "plugin_missing_on_disk", MANUAL, None)]


def test_a_tombstoned_plugin_is_never_reinstalled() -> None:
    found = facts(disk={}, states={}, tombstoned=frozenset({"clock"}), registry={"clock": "found"})
    assert kinds(found) == [("clock", "orphaned_config", NONE, None)]


def test_a_plugin_with_an_operation_under_way_is_left_to_it() -> None:
    assert detect(facts(disk={}, states={}, active={"clock": "op1"})) == []
    assert detect(facts(config={}, active={"clock": "op1"})) == []


def test_the_state_disagreeing_with_the_config_is_given_the_config_again() -> None:
    found = facts(states={"clock": state(False)})
    assert kinds(found) == [("clock", "plugin_enabled_mismatch", AUTO_FIX, FOLLOW_CONFIG)]
    assert detect(found)[0].detail == {"enabled": True}
    assert detect(replace(found, config_stable=False)) == []  # a save raced the reads


def test_version_manifest_state_staging_and_interrupted() -> None:
    found = facts(
        disk={"clock": DiskFacts("2.0.0", "1.0.0")},
        states={"clock": state(True, "error", manifest_error={"message": "bad 'id'"})},
        state_reasons=[("state_file_corrupt", "The state was damaged"), ("other", "x")],
        staging=["op1", "op1.intent.json"],
        interrupted=[{"operation_id": "op9", "plugin_id": "clock", "operation_type": "install"}],
    )
    assert kinds(found) == [
        ("clock", "plugin_version_mismatch", MANUAL, None),
        ("clock", "manifest_invalid", MANUAL, None),
        (None, "plugin_state_corrupted", NONE, None),
        (None, "leftover_staging", MANUAL, None),
        (None, "leftover_staging", MANUAL, None),
        ("clock", "interrupted_operation", NONE, None),
    ]
    assert "bad 'id'" in detect(found)[1].description
    assert "op9" in detect(found)[-1].description


def test_staging_is_not_debris_while_an_operation_runs() -> None:
    assert detect(facts(staging=["op1"], busy=True)) == []
