"""The history record: validation on append and the mapping of config events."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from actors.errors import ErrorCode, PlugvisorError
from actors.history.records import (
    MAX_RECORD_BYTES,
    build_record,
    encode_record,
    record_from_config_event,
)

BASE: dict[str, Any] = {
    "operation_id": "op-1",
    "operation_type": "reconcile",
    "plugin_id": None,
    "status": "completed",
}


def test_defaults_and_key_order() -> None:
    record = build_record(**BASE, timestamp="2026-11-26T11:12:32.5+01:00", user=None)
    assert list(record) == [
        "operation_id",
        "operation_type",
        "plugin_id",
        "timestamp",
        "status",
        "user",
        "details",
        "error",
    ]
    assert record["timestamp"] == "2026-11-26T10:12:32.500Z"
    assert (record["user"], record["details"], record["error"]) == ("local", {}, None)
    assert encode_record(record).startswith(b'{"operation_id":"op-1",')
    assert encode_record(record).endswith(b"}\n")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"operation_id": ""}, "operation_id"),
        ({"operation_id": 'a"b'}, "operation_id"),
        ({"operation_id": "x" * 129}, "operation_id"),
        ({"operation_type": "INSTALL"}, "operation_type"),
        ({"plugin_id": "display"}, "plugin_id"),
        ({"status": "pending"}, "status"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"user": ""}, "user"),
        ({"details": []}, "details"),
        ({"error": {"message": "x"}}, "error"),
    ],
)
def test_invalid_fields_are_refused(change: dict[str, Any], field: str) -> None:
    with pytest.raises(PlugvisorError) as caught:
        build_record(**(BASE | change))
    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert caught.value.context == {"field": field}


def test_an_oversized_record_is_refused() -> None:
    record = build_record(**BASE, details={"blob": "x" * MAX_RECORD_BYTES})
    with pytest.raises(PlugvisorError) as caught:
        encode_record(record)
    assert caught.value.context == {"field": "details"}


def test_config_event_mapping() -> None:
    record = record_from_config_event(
        {
            "kind": "config_restore",
            "plugin_id": None,
            "status": "error",
            "error": "backup is damaged",
            "operation_id": "r-1",
            "user": "admin",
            "backup_id": "b-1",
            "secrets": {"token": "s"},
            "values": {"a": 1},
        }
    )
    assert record is not None
    assert orjson.loads(encode_record(record)) == record
    assert record["status"] == "failed"
    assert record["user"] == "admin"
    assert record["details"] == {"backup_id": "b-1"}
    assert record["error"] == "backup is damaged"
    toggle = record_from_config_event({"kind": "disable", "plugin_id": "clock", "generation": 7})
    assert toggle is not None
    assert (toggle["operation_type"], toggle["status"], toggle["details"]) == (
        "disable",
        "completed",
        {"generation": 7},
    )
    assert record_from_config_event({"kind": "config_ensure", "plugin_id": "clock"}) is None
    assert record_from_config_event({"kind": "install"}) is None
    assert record_from_config_event({}) is None
