"""A wedged actor (no answer to the liveness ping in time) is cancelled and restarted."""

from __future__ import annotations

import asyncio

import pytest
from supervision_testkit import Block, Echo, Worker

from supervision import ActorCrashed, ChildSpec
from tests.polling import wait_until


def counting_factory(journal, made: list[Worker]):
    def factory() -> Worker:
        made.append(Worker(journal, f"w{len(made)}"))
        return made[-1]

    return factory


async def test_wedged_actor_is_restarted(tree, journal) -> None:
    made: list[Worker] = []
    sup = tree(
        "root",
        [ChildSpec("w", counting_factory(journal, made))],
        ping_interval=0.02,
        ping_timeout=0.5,
    )
    await sup.start()
    ref = sup.ref("w")
    async with asyncio.timeout(15):
        stuck = asyncio.ensure_future(ref.ask(Block(), timeout=10))
        queued = asyncio.ensure_future(ref.ask(Echo("behind"), timeout=10))
        with pytest.raises(ActorCrashed, match="crashed while handling Block") as caught:
            await stuck
        assert await queued == "behind"  # handled by the next incarnation
        await wait_until(lambda: sup.healthy, what="a healthy tree")
    assert "wedged" in str(caught.value)
    (stats,) = sup.stats()
    assert stats.restarts == 1
    assert stats.last_error == "ActorWedged: wedged: no answer to a liveness ping within 0.5s"
    assert journal.entries[:3] == ["start:w0", "w0:blocked", "start:w1"]


async def test_busy_but_answering_actor_is_left_alone(tree, journal) -> None:
    made: list[Worker] = []
    sup = tree(
        "root",
        [ChildSpec("w", counting_factory(journal, made))],
        ping_interval=0.01,
        ping_timeout=5.0,
    )
    await sup.start()
    async with asyncio.timeout(10):
        for n in range(200):
            assert await sup.ref("w").ask(Echo(n)) == n
            if n % 50 == 0:
                await asyncio.sleep(0.02)  # let some pings through
    assert sup.stats()[0].restarts == 0


async def test_pings_disabled_leave_a_blocked_actor_alone(tree, journal) -> None:
    made: list[Worker] = []
    sup = tree("root", [ChildSpec("w", counting_factory(journal, made))], ping_interval=None)
    await sup.start()
    async with asyncio.timeout(10):
        await sup.ref("w").tell(Block())
        await journal.wait_for("w0:blocked")
        await asyncio.sleep(0.2)
        assert sup.stats()[0].restarts == 0
        made[0].release.set()
        assert await sup.ref("w").ask(Echo(1)) == 1
