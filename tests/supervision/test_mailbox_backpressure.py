"""A full mailbox pushes back: tell waits, tell_nowait raises MailboxFull; pings jump the queue."""

from __future__ import annotations

import asyncio

import pytest
from supervision_testkit import Block, Echo, Note, Worker

from supervision import ChildSpec, MailboxFull
from supervision.mailbox import Control, Mailbox


async def test_full_mailbox_pushes_back(tree, journal) -> None:
    made: list[Worker] = []

    def factory() -> Worker:
        made.append(Worker(journal, "w"))
        return made[-1]

    sup = tree("root", [ChildSpec("w", factory, mailbox_size=2)])
    await sup.start()
    ref = sup.ref("w")
    async with asyncio.timeout(10):
        await ref.tell(Block())
        await journal.wait_for("w:blocked")
        ref.tell_nowait(Note("1"))
        ref.tell_nowait(Note("2"))
        with pytest.raises(MailboxFull, match="root/w is full"):
            ref.tell_nowait(Note("3"))
        waiting = asyncio.ensure_future(ref.tell(Note("3")))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not waiting.done()
        assert ref.mailbox_depth == 2
        made[0].release.set()
        await waiting
        assert await ref.ask(Echo("done")) == "done"
    assert journal.matching("w:") == ["w:blocked", "w:1", "w:2", "w:3"]


async def test_waiting_writers_are_served_in_order() -> None:
    box = Mailbox(1)
    assert box.offer(("first", None))
    writers = [asyncio.ensure_future(box.put((f"w{i}", None))) for i in range(3)]
    await asyncio.sleep(0)
    assert not box.offer(("jumps the line", None))  # writers wait: no overtaking
    got = []
    async with asyncio.timeout(10):
        while len(got) < 4:
            await box.waiter()
            got.append(box.take()[0])
            await asyncio.sleep(0)
        await asyncio.gather(*writers)
    assert got == ["first", "w0", "w1", "w2"]


async def test_put_front_ignores_the_bound_and_goes_first() -> None:
    box = Mailbox(1)
    assert box.offer(("user", None))
    ping = Control("ping")
    box.put_front((ping, None))
    assert len(box) == 2
    assert box.take()[0] is ping
    assert box.take()[0] == "user"


async def test_cancelled_writer_gives_its_turn_away() -> None:
    box = Mailbox(1)
    box.offer(("a", None))
    first = asyncio.ensure_future(box.put(("b", None)))
    second = asyncio.ensure_future(box.put(("c", None)))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    box.take()
    async with asyncio.timeout(10):
        await second
    assert box.take()[0] == "c"
