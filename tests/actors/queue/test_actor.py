"""The queue actor's scheduling: lanes in arrival order, the concurrency limit, dedupe, cancel."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from actors.errors import ErrorCode, PlugvisorError
from actors.queue.actor import QueueSettings
from actors.queue.messages import CancelOperation, Enqueue, GetOperation, ListOperations
from actors.queue.waiting import wait_for_operation
from tests.actors.queue.queue_harness import Harness, SlowCommitExecutor
from tests.polling import wait_until


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
    await wait_until(
        lambda: "install:clock" in harness.executor.started, what="the install to start"
    )
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
    await wait_until(
        lambda: harness.executor.started == ["install:clock"], what="the install to start"
    )
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
    await wait_until(lambda: len(harness.executor.started) == 2, what="two operations to start")
    active = await queue.ask(ListOperations())
    assert [(op["plugin_id"], op["status"], op["position"]) for op in active] == [
        ("a", "running", None),
        ("b", "running", None),
        ("c", "pending", 0),
    ]
    harness.executor.gate("a").set()
    await wait_until(
        lambda: len(harness.executor.started) == 3, what="the third operation to start"
    )
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
    await wait_until(
        lambda: "install:stuck" in harness.executor.started, what="the hung install to start"
    )
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
        await wait_until(
            lambda: sum(e.data["status"] == "completed" for e in harness.events) == 40,
            what="40 completed operations",
        )
        assert harness.tree is not None and harness.tree.stats()[0].restarts == 0
        assert await queue.ask(ListOperations()) == []
        newest = await queue.ask(GetOperation(receipts[-1]["operation_id"]))
        assert newest["status"] == "completed"
    finally:
        await harness.stop()


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
