"""An ask that gets no answer raises AskTimeout (a TimeoutError) on time and never hangs."""

from __future__ import annotations

import asyncio
import time

import pytest
from supervision_testkit import Block, Echo, Note, Worker

from supervision import AskTimeout, ChildSpec


async def test_ask_times_out_and_actor_carries_on(tree, journal) -> None:
    made: list[Worker] = []

    def factory() -> Worker:
        made.append(Worker(journal, "w"))
        return made[-1]

    sup = tree("root", [ChildSpec("w", factory)])
    await sup.start()
    ref = sup.ref("w")
    async with asyncio.timeout(10):
        began = time.monotonic()
        with pytest.raises(AskTimeout, match=r"root/w did not answer Block within 0.05s") as caught:
            await ref.ask(Block(), timeout=0.05)
        assert time.monotonic() - began >= 0.04
        assert isinstance(caught.value, TimeoutError)
        assert caught.value.actor == "root/w"
        made[0].release.set()
        assert await ref.ask(Echo(7)) == 7
    assert sup.stats()[0].restarts == 0


async def test_ask_times_out_while_waiting_for_mailbox_room(tree, journal) -> None:
    made: list[Worker] = []

    def factory() -> Worker:
        made.append(Worker(journal, "w"))
        return made[-1]

    sup = tree("root", [ChildSpec("w", factory, mailbox_size=1)])
    await sup.start()
    ref = sup.ref("w")
    async with asyncio.timeout(10):
        await ref.tell(Block())
        await journal.wait_for("w:blocked")
        ref.tell_nowait(Note("fills the mailbox"))
        with pytest.raises(AskTimeout, match="stayed full"):
            await ref.ask(Echo(1), timeout=0.05)
        made[0].release.set()
        assert await ref.ask(Echo(2)) == 2
    assert journal.matching("w:fills") == ["w:fills the mailbox"]


async def test_mixed_timeouts_each_fire_on_time(tree, journal) -> None:
    made: list[Worker] = []

    def factory() -> Worker:
        made.append(Worker(journal, "w"))
        return made[-1]

    sup = tree("root", [ChildSpec("w", factory)])
    await sup.start()
    ref = sup.ref("w")
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(10):
        await ref.tell(Block())
        await journal.wait_for("w:blocked")
        began = loop.time()
        timeouts = [5.0, 0.05, 0.1, 0.1, 0.02, 0.3]  # in order, and out of order
        asks = [asyncio.ensure_future(ref.ask(Echo(t), timeout=t)) for t in timeouts[1:]]
        patient = asyncio.ensure_future(ref.ask(Echo("patient"), timeout=timeouts[0]))
        finished_at: dict[float, float] = {}
        for timeout, ask in zip(timeouts[1:], asks, strict=True):
            ask.add_done_callback(lambda _, t=timeout: finished_at.setdefault(t, loop.time()))
        results = await asyncio.gather(*asks, return_exceptions=True)
        assert all(isinstance(result, AskTimeout) for result in results)
        for timeout, at in finished_at.items():
            assert at - began >= timeout * 0.9
        assert not patient.done()
        made[0].release.set()
        assert await patient == "patient"


def test_a_ref_survives_a_change_of_event_loop() -> None:
    from supervision import Supervisor

    sup = Supervisor("root", [ChildSpec("w", Worker)], ping_interval=None)
    ref = sup.ref("w")  # never started: asks can only time out

    async def ask_once() -> None:
        async with asyncio.timeout(10):
            with pytest.raises(AskTimeout):
                await ref.ask(Echo(1), timeout=0.02)

    asyncio.run(ask_once())
    asyncio.run(ask_once())
