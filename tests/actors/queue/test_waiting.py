"""Waiting for an operation by its events: at once when it ended, bounded, and across a restart."""

from __future__ import annotations

import asyncio

from actors.queue.messages import CancelOperation, Enqueue, GetOperation
from actors.queue.waiting import wait_for_operation
from tests.actors.queue.queue_harness import Harness
from tests.polling import wait_until


async def test_a_finished_operation_is_answered_at_once(harness: Harness) -> None:
    queue = await harness.start()
    harness.executor.gate("clock").set()
    receipt = await queue.ask(Enqueue("install", "clock"))
    final = await wait_for_operation(harness.bus, queue, receipt["operation_id"], timeout=10)
    assert final is not None and final["status"] == "completed"
    again = await wait_for_operation(harness.bus, queue, receipt["operation_id"], timeout=0)
    assert again == final


async def test_the_final_record_comes_when_the_operation_ends(harness: Harness) -> None:
    queue = await harness.start()
    receipt = await queue.ask(Enqueue("install", "clock"))
    waiting = asyncio.ensure_future(
        wait_for_operation(harness.bus, queue, receipt["operation_id"], timeout=10)
    )
    await wait_until(lambda: "install:clock" in harness.executor.started, what="the install")
    assert not waiting.done()
    harness.executor.gate("clock").set()
    final = await waiting
    assert final == await queue.ask(GetOperation(receipt["operation_id"]))
    assert final["status"] == "completed"


async def test_an_operation_still_running_at_the_timeout_is_none(harness: Harness) -> None:
    harness.executor.hang.add("stuck")
    queue = await harness.start()
    receipt = await queue.ask(Enqueue("install", "stuck"))
    await wait_until(lambda: "install:stuck" in harness.executor.started, what="the install")
    assert await wait_for_operation(harness.bus, queue, receipt["operation_id"], 0.05) is None
    assert (await queue.ask(GetOperation(receipt["operation_id"])))["status"] == "running"
    await queue.ask(CancelOperation(receipt["operation_id"]))
    final = await wait_for_operation(harness.bus, queue, receipt["operation_id"], timeout=10)
    assert final is not None and final["status"] == "cancelled"


async def test_the_wait_survives_a_restart_of_the_queue_actor(harness: Harness) -> None:
    queue = await harness.start()
    receipt = await queue.ask(Enqueue("install", "clock"))
    waiting = asyncio.ensure_future(
        wait_for_operation(harness.bus, queue, receipt["operation_id"], timeout=10)
    )
    await wait_until(lambda: "install:clock" in harness.executor.started, what="the install")
    await queue.tell(GetOperation("no-such-operation"))  # a told handler that raises: a crash
    final = await waiting
    assert final is not None and final["status"] == "interrupted"
    assert harness.tree is not None and harness.tree.stats()[0].restarts == 1
