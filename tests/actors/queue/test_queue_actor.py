"""The queue actor with a controllable executor: lanes, limit, dedupe, cancel, deadline, journal."""

from __future__ import annotations

import asyncio
import errno
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from actors.errors import ErrorCode, PlugvisorError
from actors.events import Event, EventBus
from actors.fsio import Syncer
from actors.health_reasons import GetHealthReasons
from actors.queue.actor import OperationQueue, QueueSettings
from actors.queue.executor import Commit, Report
from actors.queue.journal import Journal
from actors.queue.messages import CancelOperation, Enqueue, GetOperation, ListOperations
from actors.queue.records import Operation
from actors.queue.waiting import wait_for_operation
from supervision import ActorRef, ChildSpec, Supervisor


class GatedExecutor:
    """Each operation waits at a gate the test opens; the test sees starts and rollbacks."""

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}
        self.started: list[str] = []
        self.started_event = asyncio.Event()
        self.rolled_back: list[str] = []
        self.fail: set[str] = set()
        self.hang: set[str] = set()
        self.recovered = 0
        self.settled: list[str] = []
        self.landed: dict[str, dict[str, Any]] = {}  # operation id -> result of a landed run

    async def recover(self) -> None:
        self.recovered += 1

    async def settle(self, op: Operation) -> dict[str, Any] | None:
        self.settled.append(op.operation_id)
        return self.landed.get(op.operation_id)

    def gate(self, plugin_id: str) -> asyncio.Event:
        return self.gates.setdefault(plugin_id, asyncio.Event())

    async def prepare(self, op: Operation, report: Report, private: dict[str, Any]) -> Commit:
        key = f"{op.operation_type}:{op.plugin_id}"
        self.started.append(key)
        self.started_event.set()
        report("resolving", 0.1, "Resolving")
        try:
            if op.plugin_id in self.hang:
                await asyncio.Event().wait()
            await self.gate(op.plugin_id or "").wait()
        except asyncio.CancelledError:
            self.rolled_back.append(key)
            raise
        if op.plugin_id in self.fail:
            raise PlugvisorError(ErrorCode.PLUGIN_INSTALL_FAILED, "Manifest is not valid JSON")
        report("activating", 0.9, "Activating")

        async def commit() -> dict[str, Any]:
            return {"plugin_id": op.plugin_id, "message": f"Plugin {op.plugin_id} done"}

        return commit


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


class Harness:
    def __init__(self, tmp_path: Path, settings: QueueSettings) -> None:
        self.tmp_path = tmp_path
        self.settings = settings
        self.bus = EventBus()
        self.executor = GatedExecutor()
        self.events: list[Event] = []
        self.history: list[dict[str, Any]] = []
        self.bus.subscribe(self.events.append)
        self.tree: Supervisor | None = None
        self.journal: Journal | None = None

    async def start(self) -> ActorRef:
        journal = self.journal or Journal(self.tmp_path)
        self.tree = Supervisor(
            "test",
            [
                ChildSpec(
                    "queue",
                    lambda: OperationQueue(
                        journal,
                        self.executor,
                        self.bus,
                        settings=self.settings,
                        record_history=self.record,
                    ),
                )
            ],
        )
        await self.tree.start()
        return self.tree.ref("queue")

    async def record(self, op: Operation) -> bool:
        self.history.append(op.to_dict())
        return True

    async def stop(self) -> None:
        if self.tree is not None:
            await self.tree.stop()


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = Harness(tmp_path, QueueSettings(concurrency=1, deadline_s=30.0))
    yield h
    await h.stop()


async def test_operation_runs_to_completion_with_stages(harness: Harness) -> None:
    queue = await harness.start()
    receipt = await queue.ask(Enqueue("install", "clock", {"branch": "main"}))
    assert receipt["status"] == "pending" and receipt["position"] == 0
    assert receipt["deduplicated"] is False
    harness.executor.gate("clock").set()
    record = await wait_for_operation(harness.bus, queue, receipt["operation_id"], timeout=10)
    assert record is not None
    assert record["status"] == "completed"
    assert record["progress"] == 1.0
    assert record["stage"] == "done"
    assert record["result"] == {"plugin_id": "clock", "message": "Plugin clock done"}
    assert record["message"] == "Plugin clock done"
    stages = [
        e.data["stage"] for e in harness.events if e.data["operation_id"] == receipt["operation_id"]
    ]
    assert stages[0] == "queued" and "resolving" in stages and "activating" in stages
    assert stages[-1] == "done"
    assert [h["status"] for h in harness.history] == ["completed"]


async def test_identical_request_is_deduplicated(harness: Harness) -> None:
    queue = await harness.start()
    first = await queue.ask(Enqueue("install", "clock", {"branch": "main"}))
    second = await queue.ask(Enqueue("install", "clock", {"branch": "main"}))
    other = await queue.ask(Enqueue("install", "clock", {"branch": "dev"}))
    assert second["operation_id"] == first["operation_id"]
    assert second["deduplicated"] is True
    assert other["operation_id"] != first["operation_id"]


async def test_a_repeat_is_deduplicated_only_against_the_newest_of_its_lane(
    harness: Harness,
) -> None:
    queue = await harness.start()
    install = await queue.ask(Enqueue("install", "clock"))
    await wait_until(lambda: "install:clock" in harness.executor.started)
    uninstall = await queue.ask(Enqueue("uninstall", "clock", {"preserve_config": False}))
    again = await queue.ask(Enqueue("install", "clock"))
    assert again["deduplicated"] is False
    assert again["operation_id"] not in (install["operation_id"], uninstall["operation_id"])
    repeat = await queue.ask(Enqueue("install", "clock"))  # now the newest is identical
    assert (repeat["operation_id"], repeat["deduplicated"]) == (again["operation_id"], True)
    harness.executor.gate("clock").set()
    final = await wait_for_operation(harness.bus, queue, again["operation_id"], timeout=10)
    assert final is not None and final["status"] == "completed"
    kinds = [key.split(":")[0] for key in harness.executor.started]
    assert kinds == ["install", "uninstall", "install"]  # the last word was install


async def test_one_plugin_runs_in_arrival_order(harness: Harness) -> None:
    harness.settings = QueueSettings(concurrency=4)
    queue = await harness.start()
    install = await queue.ask(Enqueue("install", "clock"))
    uninstall = await queue.ask(Enqueue("uninstall", "clock"))
    await wait_until(lambda: harness.executor.started == ["install:clock"])
    record = await queue.ask(GetOperation(uninstall["operation_id"]))
    assert record["status"] == "pending" and record["position"] == 0
    harness.executor.gate("clock").set()
    done = await wait_for_operation(harness.bus, queue, uninstall["operation_id"], timeout=10)
    assert done is not None and done["status"] == "completed"
    assert harness.executor.started == ["install:clock", "uninstall:clock"]
    first = await queue.ask(GetOperation(install["operation_id"]))
    assert first["completed_at"] <= done["started_at"]


async def test_concurrency_limit_bounds_running_operations(harness: Harness) -> None:
    harness.settings = QueueSettings(concurrency=2)
    queue = await harness.start()
    for plugin in ("a", "b", "c"):
        await queue.ask(Enqueue("install", plugin))
    await wait_until(lambda: len(harness.executor.started) == 2)
    active = await queue.ask(ListOperations())
    assert [(op["plugin_id"], op["status"], op["position"]) for op in active] == [
        ("a", "running", None),
        ("b", "running", None),
        ("c", "pending", 0),
    ]
    harness.executor.gate("a").set()
    await wait_until(lambda: len(harness.executor.started) == 3)
    assert harness.executor.started == ["install:a", "install:b", "install:c"]


async def test_hung_operation_blocks_nobody_beyond_the_limit_and_is_cancelled(
    harness: Harness,
) -> None:
    harness.settings = QueueSettings(concurrency=2)
    harness.executor.hang.add("stuck")
    queue = await harness.start()
    stuck = await queue.ask(Enqueue("install", "stuck"))
    fine = await queue.ask(Enqueue("install", "fine"))
    harness.executor.gate("fine").set()
    done = await wait_for_operation(harness.bus, queue, fine["operation_id"], timeout=10)
    assert done is not None and done["status"] == "completed"
    await wait_until(lambda: "install:stuck" in harness.executor.started)
    answer = await queue.ask(CancelOperation(stuck["operation_id"]))
    assert answer["operation_id"] == stuck["operation_id"]
    final = await wait_for_operation(harness.bus, queue, stuck["operation_id"], timeout=10)
    assert final is not None and final["status"] == "cancelled"
    assert harness.executor.rolled_back == ["install:stuck"]


async def test_cancel_pending_at_once_and_finished_is_a_conflict(harness: Harness) -> None:
    queue = await harness.start()
    running = await queue.ask(Enqueue("install", "a"))
    pending = await queue.ask(Enqueue("install", "b"))
    cancelled = await queue.ask(CancelOperation(pending["operation_id"]))
    assert cancelled["status"] == "cancelled"
    assert harness.executor.started == ["install:a"]
    harness.executor.gate("a").set()
    await wait_for_operation(harness.bus, queue, running["operation_id"], timeout=10)
    with pytest.raises(PlugvisorError) as info:
        await queue.ask(CancelOperation(running["operation_id"]))
    assert info.value.code is ErrorCode.PLUGIN_OPERATION_CONFLICT
    with pytest.raises(PlugvisorError) as missing:
        await queue.ask(GetOperation("nope"))
    assert missing.value.code is ErrorCode.OPERATION_NOT_FOUND


async def test_deadline_ends_in_timed_out_and_rolls_back(harness: Harness) -> None:
    harness.settings = QueueSettings(deadline_s=0.2)
    harness.executor.hang.add("slow")
    queue = await harness.start()
    receipt = await queue.ask(Enqueue("install", "slow"))
    final = await wait_for_operation(harness.bus, queue, receipt["operation_id"], timeout=10)
    assert final is not None and final["status"] == "timed_out"
    assert final["error"]["error_code"] == "TIMEOUT"
    assert harness.executor.rolled_back == ["install:slow"]


async def test_failure_is_recorded_with_its_code(harness: Harness) -> None:
    harness.executor.fail.add("broken")
    harness.executor.gate("broken").set()
    queue = await harness.start()
    receipt = await queue.ask(Enqueue("install", "broken"))
    final = await wait_for_operation(harness.bus, queue, receipt["operation_id"], timeout=10)
    assert final is not None and final["status"] == "failed"
    assert final["error"] == {
        "error_code": "PLUGIN_INSTALL_FAILED",
        "message": "Manifest is not valid JSON",
    }
    assert [h["status"] for h in harness.history] == ["failed"]


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
    await wait_until(lambda: "install:running" in first.executor.started)
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
    await wait_until(lambda: "install:None" in first.executor.started)
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


async def test_cancel_as_it_starts_still_ends_cancelled(harness: Harness) -> None:
    queue = await harness.start()
    for _ in range(20):  # cancel at varying points of the start, bounded
        receipt = await queue.ask(Enqueue("install", "racy"))
        await queue.ask(CancelOperation(receipt["operation_id"]))
        final = await wait_for_operation(harness.bus, queue, receipt["operation_id"], timeout=10)
        assert final is not None and final["status"] == "cancelled"
    left = await queue.ask(ListOperations())
    assert left == [], [(o["status"], o["message"], o["started_at"]) for o in left]


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


class FailingCommitExecutor(GatedExecutor):
    """The files 'land', then recording them fails (a config store that refuses, say)."""

    async def prepare(self, op: Operation, report: Report, private: dict[str, Any]) -> Commit:
        await super().prepare(op, report, private)

        async def commit() -> dict[str, Any]:
            raise PlugvisorError(ErrorCode.CONFIG_VALIDATION_FAILED, "schema is not valid")

        return commit


async def test_a_failing_commit_fails_the_operation_not_the_queue(harness: Harness) -> None:
    harness.executor = FailingCommitExecutor()
    harness.executor.gate("odd").set()
    queue = await harness.start()
    receipt = await queue.ask(Enqueue("install", "odd"))
    final = await wait_for_operation(harness.bus, queue, receipt["operation_id"], timeout=10)
    assert final is not None and final["status"] == "failed"
    assert final["error"]["error_code"] == "SYSTEM_ERROR"
    assert "schema is not valid" in final["message"]
    assert harness.tree is not None and harness.tree.stats()[0].restarts == 0


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
        await wait_until(lambda: "install:early" in harness.executor.started)
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


async def test_cancel_right_as_an_operation_is_scheduled(harness: Harness) -> None:
    harness.executor.hang.update({"first", "second"})
    queue = await harness.start()
    for _ in range(10):
        first = await queue.ask(Enqueue("install", "first"))
        second = await queue.ask(Enqueue("install", "second"))
        await queue.ask(CancelOperation(first["operation_id"]))
        answer = await queue.ask(CancelOperation(second["operation_id"]))
        assert answer["operation_id"] == second["operation_id"]
        for receipt in (first, second):
            final = await wait_for_operation(
                harness.bus, queue, receipt["operation_id"], timeout=10
            )
            assert final is not None and final["status"] == "cancelled"
    assert harness.tree is not None and harness.tree.stats()[0].restarts == 0


async def test_many_concurrent_requests_with_compaction_lose_nothing(tmp_path: Path) -> None:
    harness = Harness(tmp_path, QueueSettings(retention=2, concurrency=3))
    queue = await harness.start()
    try:
        for number in range(40):
            harness.executor.gate(f"p{number}").set()
        receipts = await asyncio.gather(
            *(queue.ask(Enqueue("install", f"p{number}")) for number in range(40))
        )
        assert len({receipt["operation_id"] for receipt in receipts}) == 40
        await wait_until(lambda: sum(e.data["status"] == "completed" for e in harness.events) == 40)
        assert harness.tree is not None and harness.tree.stats()[0].restarts == 0
        assert await queue.ask(ListOperations()) == []
        newest = await queue.ask(GetOperation(receipts[-1]["operation_id"]))
        assert newest["status"] == "completed"
    finally:
        await harness.stop()


class SlowCommitExecutor(GatedExecutor):
    """Its commit waits at a gate of its own and can learn the plugin id (as URL installs do)."""

    def __init__(self, learns_id: str | None = None) -> None:
        super().__init__()
        self.committing = asyncio.Event()
        self.commit_gate = asyncio.Event()
        self.learns_id = learns_id

    async def prepare(self, op: Operation, report: Report, private: dict[str, Any]) -> Commit:
        await super().prepare(op, report, private)

        async def commit() -> dict[str, Any]:
            if self.learns_id:
                op.plugin_id = self.learns_id
            self.committing.set()
            await self.commit_gate.wait()
            return {"plugin_id": op.plugin_id, "message": "landed"}

        return commit


async def test_a_stop_during_the_commit_lets_it_finish_and_records_it(tmp_path: Path) -> None:
    first = Harness(tmp_path, QueueSettings())
    first.executor = SlowCommitExecutor()
    first.executor.gate("clock").set()
    queue = await first.start()
    receipt = await queue.ask(Enqueue("install", "clock"))
    async with asyncio.timeout(10):
        await first.executor.committing.wait()
    [run_task] = [t for t in asyncio.all_tasks() if receipt["operation_id"] in t.get_name()]
    stopping = asyncio.ensure_future(first.stop())
    await wait_until(lambda: run_task.cancelling() > 0)  # the stop has reached the run
    first.executor.commit_gate.set()
    async with asyncio.timeout(20):
        await stopping

    second = Harness(tmp_path, QueueSettings())
    queue = await second.start()
    try:
        record = await queue.ask(GetOperation(receipt["operation_id"]))
        assert record["status"] == "completed"
        assert record["result"] == {"plugin_id": "clock", "message": "landed"}
    finally:
        await second.stop()


async def test_an_install_learning_its_id_still_runs_alone(tmp_path: Path) -> None:
    harness = Harness(tmp_path, QueueSettings(concurrency=2))
    harness.executor = SlowCommitExecutor(learns_id="landed")
    harness.executor.gate("").set()
    harness.executor.gate("other").set()
    queue = await harness.start()
    try:
        by_url = await queue.ask(Enqueue("install", None, {"repo_url": "x"}, lane="url:x"))
        async with asyncio.timeout(10):
            await harness.executor.committing.wait()
        other = await queue.ask(Enqueue("uninstall", "other"))
        assert (await queue.ask(GetOperation(other["operation_id"])))["status"] == "pending"
        harness.executor.commit_gate.set()
        for receipt in (by_url, other):
            final = await wait_for_operation(harness.bus, queue, receipt["operation_id"], 10)
            assert final is not None and final["status"] == "completed"
        assert harness.executor.started == ["install:None", "uninstall:other"]
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
        await wait_until(lambda: len(second.history) == 1)
        assert second.history[0]["operation_id"] == done["operation_id"]
        journal = tmp_path / "operations.jsonl"
        await wait_until(lambda: b'"recorded":true' in journal.read_bytes().splitlines()[-1])
        await second.stop()
        third = Harness(tmp_path, QueueSettings())
        await third.start()
        await wait_until(lambda: third.executor.recovered == 1)
        assert third.history == []  # noted as recorded: never sent twice
        await third.stop()
    finally:
        await second.stop()
