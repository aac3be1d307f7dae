"""On a final stop, pending asks fail with ActorStopped and the mailbox refuses new messages."""

from __future__ import annotations

import asyncio

import pytest
from supervision_testkit import Block, Echo, Note, worker

from supervision import ActorStopped, ChildSpec


async def test_pending_asks_fail_with_actor_stopped(tree, journal) -> None:
    sup = tree("root", [ChildSpec("w", worker(journal, "w"), shutdown=0.05)])
    await sup.start()
    ref = sup.ref("w")
    async with asyncio.timeout(10):
        inflight = asyncio.ensure_future(ref.ask(Block()))
        await journal.wait_for("w:blocked")
        queued = [asyncio.ensure_future(ref.ask(Echo(n))) for n in range(3)]
        await asyncio.sleep(0)
        result = await sup.stop()
        outcomes = await asyncio.gather(inflight, *queued, return_exceptions=True)
    assert not result.failed
    assert all(isinstance(outcome, ActorStopped) for outcome in outcomes)
    assert "root/w stopped while handling Block" in str(outcomes[0])
    assert str(outcomes[1]) == "actor root/w has stopped"
    assert sup.stats()[0].status == "stopped"
    assert not sup.healthy


async def test_messages_after_stop_are_refused(tree, journal) -> None:
    sup = tree("root", [ChildSpec("w", worker(journal, "w"))])
    await sup.start()
    ref = sup.ref("w")
    async with asyncio.timeout(10):
        await sup.stop()
        with pytest.raises(ActorStopped):
            await ref.ask(Echo(1))
        with pytest.raises(ActorStopped):
            await ref.tell(Note("late"))
        with pytest.raises(ActorStopped):
            ref.tell_nowait(Note("late"))
    assert journal.entries == ["start:w", "stop:w"]


async def test_stop_is_idempotent_and_wait_exit_reports_it(tree, journal) -> None:
    sup = tree("root", [ChildSpec("w", worker(journal, "w"))])
    await sup.start()
    async with asyncio.timeout(10):
        waiter = asyncio.ensure_future(sup.wait_exit())
        first = await sup.stop()
        second = await sup.stop()
        assert await waiter == first == second
    assert first.failed is False
