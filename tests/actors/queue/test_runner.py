"""One run of an operation: its stages, deadline, failure, cancel, and a commit that always ends."""

from __future__ import annotations

import asyncio
from pathlib import Path

from actors.queue.actor import QueueSettings
from actors.queue.messages import CancelOperation, Enqueue, GetOperation, ListOperations
from actors.queue.waiting import wait_for_operation
from tests.actors.queue.queue_harness import FailingCommitExecutor, Harness, SlowCommitExecutor
from tests.polling import wait_until


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


async def test_cancel_as_it_starts_still_ends_cancelled(harness: Harness) -> None:
    queue = await harness.start()
    for _ in range(20):  # cancel at varying points of the start, bounded
        receipt = await queue.ask(Enqueue("install", "racy"))
        await queue.ask(CancelOperation(receipt["operation_id"]))
        final = await wait_for_operation(harness.bus, queue, receipt["operation_id"], timeout=10)
        assert final is not None and final["status"] == "cancelled"
    left = await queue.ask(ListOperations())
    assert left == [], [(o["status"], o["message"], o["started_at"]) for o in left]


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
    await wait_until(lambda: run_task.cancelling() > 0, what="the stop to reach the run")
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
