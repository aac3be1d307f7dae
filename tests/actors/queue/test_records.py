"""The operation record: the contract's shape, the journal's round trip, what makes a duplicate."""

from __future__ import annotations

import re

from actors.queue.records import ACTIVE, TERMINAL, Operation


def operation(**changes: object) -> Operation:
    values: dict[str, object] = {
        "operation_type": "install",
        "plugin_id": "clock",
        "parameters": {"branch": "main"},
        "lane": "clock",
    } | changes
    return Operation(**values)  # type: ignore[arg-type]


def test_a_new_operation_is_pending_with_an_id_and_its_creation_time() -> None:
    op = operation()
    assert re.fullmatch(r"[0-9a-f]{32}", op.operation_id)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", op.created_at)
    assert op.operation_id != operation().operation_id
    assert op.to_dict(position=2) == {
        "operation_id": op.operation_id,
        "operation_type": "install",
        "plugin_id": "clock",
        "parameters": {"branch": "main"},
        "status": "pending",
        "progress": 0.0,
        "stage": "queued",
        "message": "Queued",
        "error": None,
        "result": None,
        "created_at": op.created_at,
        "started_at": None,
        "completed_at": None,
        "position": 2,
    }


def test_the_journal_line_adds_lane_user_and_recorded_and_reads_back_the_same() -> None:
    op = operation(
        status="failed",
        progress=0.123456,
        stage="downloading",
        message="Download failed",
        error={"error_code": "NETWORK_ERROR", "message": "unreachable"},
        started_at="2026-11-26T10:00:00.000Z",
        completed_at="2026-11-26T10:00:05.000Z",
        user="token-a",
        recorded=True,
    )
    line = op.to_journal()
    assert set(line) - set(op.to_dict()) == {"lane", "user", "recorded"}
    assert "position" not in line
    assert line["progress"] == 0.1235
    back = Operation.from_journal(line)
    assert back.to_journal() == line
    assert (back.lane, back.user, back.recorded) == ("clock", "token-a", True)


def test_an_older_journal_line_without_the_newer_fields_still_reads() -> None:
    line = operation(plugin_id=None, lane="url:x").to_journal()
    for key in ("lane", "user", "recorded", "progress", "stage"):
        del line[key]
    back = Operation.from_journal(line)
    assert back.lane == line["operation_id"]  # no plugin id to serialise on: its own lane
    assert (back.user, back.recorded, back.progress, back.stage) == ("local", False, 0.0, "queued")
    with_id = operation().to_journal()
    del with_id["lane"]
    assert Operation.from_journal(with_id).lane == "clock"


def test_only_the_same_type_lane_and_parameters_make_a_duplicate() -> None:
    key = operation(parameters={"branch": "main", "version": "1.0.0"}).dedupe_key()
    same = operation(parameters={"version": "1.0.0", "branch": "main"})  # order does not matter
    assert same.dedupe_key() == key
    assert operation(parameters={"branch": "dev", "version": "1.0.0"}).dedupe_key() != key
    assert operation(operation_type="update").dedupe_key() != operation().dedupe_key()
    assert operation(lane="ticker").dedupe_key() != operation().dedupe_key()


def test_active_and_terminal_statuses_do_not_overlap() -> None:
    assert not ACTIVE & TERMINAL
    assert [operation(status=s).active for s in ("pending", "running")] == [True, True]
    assert not any(operation(status=s).active for s in TERMINAL)
