"""The journal across restarts: interrupted work, roll-forward, retention, a full disk, history."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from actors.errors import ErrorCode, PlugvisorError
from actors.fsio import Syncer
from actors.health_reasons import GetHealthReasons
from actors.queue.actor import QueueSettings
from actors.queue.journal import Journal
from actors.queue.messages import Enqueue, GetOperation, ListOperations
from actors.queue.records import Operation
from actors.queue.waiting import wait_for_operation
from tests.actors.queue.queue_harness import Harness
from tests.polling import wait_until


async def test_restart_marks_unfinished_operations_interrupted_and_keeps_ids(
    tmp_path: Path,
) -> None:
    first = Harness(tmp_path, QueueSettings())
    queue = await first.start()
    first.executor.gate("done").set()
    done = await queue.ask(Enqueue("install", "done"))
    await wait_for_operation(first.bus, queue, done["operation_id"], timeout=10)
    running = await queue.ask(Enqueue("install", "running"))
    waiting = await queue.ask(Enqueue("install", "waiting"))
    await wait_until(
        lambda: "install:running" in first.executor.started, what="the install to start"
    )
    await first.stop()

    second = Harness(tmp_path, QueueSettings())
    queue = await second.start()
    try:
        assert (await queue.ask(GetOperation(done["operation_id"])))["status"] == "completed"
        for receipt in (running, waiting):
            record = await queue.ask(GetOperation(receipt["operation_id"]))
            assert record["status"] == "interrupted"
            assert record["completed_at"] is not None
        assert await queue.ask(ListOperations()) == []
        assert second.executor.recovered == 1
        assert second.executor.settled == [running["operation_id"]]  # only what had started
        assert sorted(h["status"] for h in second.history) == ["interrupted", "interrupted"]
    finally:
        await second.stop()


async def test_restart_rolls_forward_an_operation_whose_work_had_landed(tmp_path: Path) -> None:
    first = Harness(tmp_path, QueueSettings())
    queue = await first.start()
    landed = await queue.ask(Enqueue("install", None, {"repo_url": "file:///r.git"}, lane="url"))
    await wait_until(
        lambda: "install:None" in first.executor.started, what="the URL install to start"
    )
    await first.stop()

    second = Harness(tmp_path, QueueSettings())
    result = {"plugin_id": "clock", "version": "1.0.0", "message": "Plugin clock 1.0.0 installed"}
    second.executor.landed[landed["operation_id"]] = result
    queue = await second.start()
    try:
        record = await queue.ask(GetOperation(landed["operation_id"]))
        assert (record["status"], record["stage"], record["progress"]) == ("completed", "done", 1.0)
        assert record["plugin_id"] == "clock"  # learned from what landed
        assert record["result"] == result and record["error"] is None
        assert record["message"] == "Completed after a restart: Plugin clock 1.0.0 installed"
        assert [(h["status"], h["plugin_id"]) for h in second.history] == [("completed", "clock")]
    finally:
        await second.stop()


async def test_a_refused_config_step_at_restart_ends_the_operation_failed(
    tmp_path: Path,
) -> None:
    first = Harness(tmp_path, QueueSettings())
    queue = await first.start()
    landed = await queue.ask(Enqueue("install", "clock"))
    await wait_until(lambda: "install:clock" in first.executor.started, what="the install")
    await first.stop()

    second = Harness(tmp_path, QueueSettings())
    second.executor.refuse_settle.add(landed["operation_id"])
    queue = await second.start()
    try:
        record = await queue.ask(GetOperation(landed["operation_id"]))
        message = (
            "The plugin's files were changed, but recording the change failed (No space left "
            "on the device); reconciliation will bring config and state in line"
        )
        assert (record["status"], record["message"]) == ("failed", message)
        assert record["error"] == {"error_code": "SYSTEM_ERROR", "message": message}
        assert await queue.ask(ListOperations()) == []
    finally:
        await second.stop()


async def test_finished_records_are_kept_up_to_the_retention(tmp_path: Path) -> None:
    harness = Harness(tmp_path, QueueSettings(retention=4))
    queue = await harness.start()
    try:
        ids = []
        for number in range(12):
            plugin = f"p{number}"
            harness.executor.gate(plugin).set()
            receipt = await queue.ask(Enqueue("install", plugin))
            await wait_for_operation(harness.bus, queue, receipt["operation_id"], timeout=10)
            ids.append(receipt["operation_id"])
        assert (await queue.ask(GetOperation(ids[-1])))["status"] == "completed"
        with pytest.raises(PlugvisorError):
            await queue.ask(GetOperation(ids[0]))
        lines = (tmp_path / "operations.jsonl").read_bytes().count(b"\n")
        assert lines <= 3 * (4 + 1) + 3  # the newest finished ones, three lines at most each
    finally:
        await harness.stop()
    restarted = Harness(tmp_path, QueueSettings(retention=4))
    queue = await restarted.start()
    try:
        assert (await queue.ask(GetOperation(ids[-1])))["status"] == "completed"
    finally:
        await restarted.stop()


class FullDisk(Syncer):
    def __init__(self) -> None:
        super().__init__()
        self.full = False

    def fsync(self, fd: int) -> None:
        if self.full:
            raise OSError(errno.ENOSPC, "No space left on device")
        super().fsync(fd)


async def test_a_full_disk_refuses_new_operations_and_lets_running_ones_end(
    tmp_path: Path,
) -> None:
    disk = FullDisk()
    harness = Harness(tmp_path, QueueSettings())
    harness.journal = Journal(tmp_path, syncer=disk)
    queue = await harness.start()
    try:
        running = await queue.ask(Enqueue("install", "early"))
        await wait_until(
            lambda: "install:early" in harness.executor.started, what="the install to start"
        )
        disk.full = True
        with pytest.raises(PlugvisorError) as refused:
            await queue.ask(Enqueue("install", "late"))
        assert refused.value.code is ErrorCode.INSUFFICIENT_STORAGE
        [reason] = await queue.ask(GetHealthReasons())
        assert reason.code == "operation_journal_write_failed"
        harness.executor.gate("early").set()
        final = await wait_for_operation(harness.bus, queue, running["operation_id"], timeout=10)
        assert final is not None and final["status"] == "completed"
        disk.full = False
        again = await queue.ask(Enqueue("install", "late"))
        assert again["status"] == "pending"
        assert await queue.ask(GetHealthReasons()) == []
        assert harness.tree is not None and harness.tree.stats()[0].restarts == 0
    finally:
        await harness.stop()


async def test_an_operation_the_history_missed_is_recorded_after_a_restart(tmp_path: Path):
    first = Harness(tmp_path, QueueSettings())

    async def history_down(op: Operation) -> bool:
        return False

    first.record = history_down  # type: ignore[method-assign]
    queue = await first.start()
    first.executor.gate("clock").set()
    done = await queue.ask(Enqueue("install", "clock"))
    await wait_for_operation(first.bus, queue, done["operation_id"], timeout=10)
    await first.stop()

    second = Harness(tmp_path, QueueSettings())
    await second.start()
    try:
        await wait_until(lambda: len(second.history) == 1, what="the missed record to be sent")
        assert second.history[0]["operation_id"] == done["operation_id"]
        journal = tmp_path / "operations.jsonl"
        await wait_until(
            lambda: b'"recorded":true' in journal.read_bytes().splitlines()[-1],
            what="the journal to note it recorded",
        )
        await second.stop()
        third = Harness(tmp_path, QueueSettings())
        await third.start()
        await wait_until(lambda: third.executor.recovered == 1, what="the third start to recover")
        assert third.history == []  # noted as recorded: never sent twice
        await third.stop()
    finally:
        await second.stop()
