"""The history actor under a real supervisor: durable asks, group commit, queries, config events."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from structlog.testing import capture_logs

from actors.errors import ErrorCode, PlugvisorError
from actors.events import EventBus
from actors.fsio import Syncer
from actors.health_reasons import GetHealthReasons
from actors.history.actor import HistoryActor
from actors.history.messages import (
    QueryHistory,
    RecordOperation,
    RecordOperationOnce,
)
from actors.history.records import encode_record
from supervision import ActorRef, ChildSpec, Supervisor

Start = Callable[..., Any]


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
async def start(tmp_path: Path, bus: EventBus) -> AsyncIterator[Start]:
    trees: list[Supervisor] = []

    async def run(**options: Any) -> tuple[ActorRef, Supervisor]:
        def factory() -> HistoryActor:
            return HistoryActor(tmp_path / "history", bus, **options)

        tree = Supervisor("root", [ChildSpec("history", factory)], backoff_initial=0.01)
        await tree.start()
        trees.append(tree)
        return tree.ref("history"), tree

    yield run
    for tree in trees:
        await tree.stop()


def op(n: int, **fields: Any) -> RecordOperation:
    values: dict[str, Any] = {
        "operation_id": f"op-{n}",
        "operation_type": "install",
        "plugin_id": "clock",
        "status": "completed",
        "timestamp": "2026-11-26T10:12:32.123Z",
        "details": {"version": "1.0.0"},
    } | fields
    return RecordOperation(**values)


def history_bytes(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted((tmp_path / "history").glob("*.jsonl")))


async def test_an_ask_is_answered_with_the_record_once_it_is_on_disk(
    tmp_path: Path, start: Start
) -> None:
    syncer = Syncer()
    ref, _ = await start(syncer=syncer)
    stored = await ref.ask(op(1, user="token-a", error=None), timeout=5)
    assert stored == {
        "operation_id": "op-1",
        "operation_type": "install",
        "plugin_id": "clock",
        "timestamp": "2026-11-26T10:12:32.123Z",
        "status": "completed",
        "user": "token-a",
        "details": {"version": "1.0.0"},
        "error": None,
    }
    assert history_bytes(tmp_path) == encode_record(stored)
    assert syncer.count == 2  # the new file's folder entry, then the record


async def test_records_waiting_in_the_mailbox_share_one_fsync(tmp_path: Path, start: Start) -> None:
    syncer = Syncer(delay_s=0.02)  # an SD card's fsync
    ref, _ = await start(syncer=syncer)

    async def record(n: int) -> None:
        stored = await ref.ask(op(n), timeout=10)
        assert encode_record(stored) in history_bytes(tmp_path)  # durable when answered

    await asyncio.gather(*(record(n) for n in range(60)))
    assert history_bytes(tmp_path).count(b"\n") == 60
    assert syncer.count <= 5  # 60 records, a handful of batches (one fsync each, and the file's)


async def test_a_bad_record_fails_alone_and_the_actor_lives_on(
    tmp_path: Path, start: Start, bus: EventBus
) -> None:
    ref, tree = await start()
    results = await asyncio.gather(
        ref.ask(op(1), timeout=5),
        ref.ask(op(2, operation_type="explode"), timeout=5),
        ref.ask(op(3, plugin_id="../etc"), timeout=5),
        ref.ask(op(4, details={"x": object()}), timeout=5),
        ref.ask(op(5), timeout=5),
        return_exceptions=True,
    )
    assert [r["operation_id"] for r in (results[0], results[4])] == ["op-1", "op-5"]
    for result, field in zip(results[1:4], ("operation_type", "plugin_id", "details"), strict=True):
        assert isinstance(result, PlugvisorError)
        assert result.code is ErrorCode.INVALID_INPUT
        assert result.context["field"] == field
    with capture_logs() as logs:  # a told record (a config event) that is bad is logged
        bus.publish("config", {"kind": "configure", "operation_id": "c-6", "status": "running"})
        bus.publish("config", {"kind": "configure", "operation_id": "c-7", "status": "completed"})
        page = await ref.ask(QueryHistory(), timeout=5)
    assert [r["operation_id"] for r in page.records] == ["c-7", "op-5", "op-1"]
    assert [(e["event"], e.get("field")) for e in logs if e["log_level"] == "error"] == [
        ("history_record_dropped", "status")
    ]
    assert tree.stats()[0].restarts == 0


async def test_queries_filter_and_page_and_guard_their_parameters(start: Start) -> None:
    ref, _ = await start()
    for n in range(12):
        plugin = "clock" if n % 2 else "weather"
        await ref.ask(op(n, plugin_id=plugin, status="failed" if n % 3 == 0 else "completed"))
    page = await ref.ask(QueryHistory(plugin_id="clock", limit=2), timeout=5)
    assert [r["operation_id"] for r in page.records] == ["op-11", "op-9"]
    page = await ref.ask(QueryHistory(plugin_id="clock", limit=2, before=page.next_before))
    assert [r["operation_id"] for r in page.records] == ["op-7", "op-5"]
    page = await ref.ask(QueryHistory(status="failed"), timeout=5)
    assert [r["operation_id"] for r in page.records] == ["op-9", "op-6", "op-3", "op-0"]
    assert page.next_before is None
    for bad in (QueryHistory(limit=0), QueryHistory(limit=1001), QueryHistory(status="x")):
        with pytest.raises(PlugvisorError) as caught:
            await ref.ask(bad, timeout=5)
        assert caught.value.code is ErrorCode.INVALID_INPUT


async def test_config_events_become_records(start: Start, bus: EventBus) -> None:
    ref, _ = await start()
    bus.publish(
        "config",
        {
            "kind": "configure",
            "plugin_id": "clock",
            "status": "success",
            "error": None,
            "operation_id": "cfg-1",
            "timestamp": "2026-11-26T10:00:00Z",
            "etag": "abc",
            "config": {"api_key": "secret"},
        },
    )
    bus.publish(
        "config",
        {
            "kind": "config_main",
            "plugin_id": None,
            "status": "failed",
            "error": {
                "error_code": "CONFIG_VALIDATION_FAILED",
                "message": "Configuration validation failed",
            },
        },
    )
    bus.publish("config", {"kind": "backups_pruned", "removed": 2})  # not a save: ignored
    bus.publish("plugin_state", {"plugin_id": "clock", "state": None, "change": "removed"})
    page = await ref.ask(QueryHistory(), timeout=5)  # queued behind the events
    main, plugin = page.records
    assert plugin == {
        "operation_id": "cfg-1",
        "operation_type": "configure",
        "plugin_id": "clock",
        "timestamp": "2026-11-26T10:00:00.000Z",
        "status": "completed",
        "user": "local",
        "details": {"etag": "abc"},
        "error": None,
    }
    assert re.fullmatch(r"[0-9a-f]{32}", main.pop("operation_id"))
    assert main.pop("timestamp")
    assert main == {
        "operation_type": "config_main",
        "plugin_id": None,
        "status": "failed",
        "user": "local",
        "details": {},
        "error": "Configuration validation failed",
    }


async def test_after_a_crash_config_events_are_recorded_once(start: Start, bus: EventBus) -> None:
    ref, tree = await start()
    await ref.tell(op(1, status="bogus"))  # a told RecordOperation that fails crashes the actor
    assert await ref.ask(QueryHistory(), timeout=5)  # handled by the next incarnation
    assert tree.stats()[0].restarts == 1
    bus.publish("config", {"kind": "config_schedule", "status": "completed", "operation_id": "s1"})
    page = await ref.ask(QueryHistory(), timeout=5)
    assert [r["operation_id"] for r in page.records] == ["s1"]


async def test_a_failed_write_is_an_error_and_a_health_reason_until_the_next_success(
    start: Start,
) -> None:
    class FullDisk(Syncer):
        full = False

        def fsync(self, fd: int) -> None:
            if self.full:
                raise OSError(28, "No space left on device")
            super().fsync(fd)

    syncer = FullDisk()
    ref, _ = await start(syncer=syncer)
    await ref.ask(op(1), timeout=5)
    syncer.full = True
    with pytest.raises(PlugvisorError) as caught:
        await ref.ask(op(2), timeout=5)
    assert caught.value.code is ErrorCode.INSUFFICIENT_STORAGE
    [reason] = await ref.ask(GetHealthReasons(), timeout=5)
    assert reason.code == "history_write_failed"
    syncer.full = False
    await ref.ask(op(3), timeout=5)
    assert await ref.ask(GetHealthReasons(), timeout=5) == []
    page = await ref.ask(QueryHistory(), timeout=5)
    assert [r["operation_id"] for r in page.records] == ["op-3", "op-1"]


async def test_history_survives_a_restart_and_a_torn_tail(tmp_path: Path, start: Start) -> None:
    ref, tree = await start()
    await ref.ask(op(1), timeout=5)
    await tree.stop()
    with (tmp_path / "history" / "operations-0001.jsonl").open("ab") as handle:
        handle.write(b'{"operation_id":"op-2","operat')
    ref, _ = await start()
    assert [r["operation_id"] for r in (await ref.ask(QueryHistory())).records] == ["op-1"]
    await ref.ask(op(3), timeout=5)
    page = await ref.ask(QueryHistory(), timeout=5)
    assert [r["operation_id"] for r in page.records] == ["op-3", "op-1"]


def test_from_operation_maps_a_queue_record() -> None:
    record = RecordOperation.from_operation(
        {
            "operation_id": "abc",
            "operation_type": "update",
            "plugin_id": "clock",
            "parameters": {"plugin_id": "clock"},
            "status": "failed",
            "message": "Update failed",
            "error": {"error_code": "PLUGIN_UPDATE_FAILED", "message": "git fetch failed"},
            "result": None,
            "completed_at": "2026-11-26T10:12:32.123Z",
        }
    )
    assert record == RecordOperation(
        operation_id="abc",
        operation_type="update",
        plugin_id="clock",
        status="failed",
        details={"parameters": {"plugin_id": "clock"}, "message": "Update failed"},
        error="git fetch failed",
        user="local",
        timestamp="2026-11-26T10:12:32.123Z",
    )


async def test_recording_once_keeps_one_record_per_operation_and_status(
    tmp_path: Path, start: Start
) -> None:
    ref, _ = await start()
    first = await ref.ask(op(1), timeout=5)
    once = RecordOperationOnce(**dataclasses.asdict(op(1)))
    assert await ref.ask(once, timeout=5) == first  # already there: nothing written
    assert history_bytes(tmp_path) == encode_record(first)
    failed = dataclasses.replace(once, status="failed")
    assert (await ref.ask(failed, timeout=5))["status"] == "failed"
    assert history_bytes(tmp_path).count(b"\n") == 2


async def test_recording_once_holds_for_asks_queued_behind_a_write(
    tmp_path: Path, start: Start
) -> None:
    # After a crash the queue may send several operations at once; each is recorded once
    # even when it waits in the mailbox while another record is being written.
    ref, _ = await start(syncer=Syncer(delay_s=0.02))
    await ref.ask(op(2), timeout=5)  # already in the history
    asks = [RecordOperationOnce(**dataclasses.asdict(op(n))) for n in (1, 2, 2, 1, 3)]
    answers = await asyncio.gather(*(ref.ask(once, timeout=10) for once in asks))
    assert [a["operation_id"] for a in answers] == ["op-1", "op-2", "op-2", "op-1", "op-3"]
    stored = [line for line in history_bytes(tmp_path).splitlines() if line]
    assert sorted(orjson.loads(line)["operation_id"] for line in stored) == [
        "op-1",
        "op-2",
        "op-3",
    ]
