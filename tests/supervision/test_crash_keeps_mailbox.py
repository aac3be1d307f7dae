"""Messages queued behind a crash are handled, in order, by the next incarnation."""

from __future__ import annotations

import asyncio

from supervision_testkit import Block, Echo, Fail, Note, Worker

from supervision import ChildSpec


async def test_queued_messages_survive_the_crash(tree, journal) -> None:
    made: list[Worker] = []

    def factory() -> Worker:
        made.append(Worker(journal, f"w{len(made)}"))
        return made[-1]

    sup = tree("root", [ChildSpec("w", factory)])
    await sup.start()
    ref = sup.ref("w")
    async with asyncio.timeout(10):
        await ref.tell(Block())
        await journal.wait_for("w0:blocked")
        await ref.tell(Fail("crash"))  # a tell handler raising: crashes the actor
        await ref.tell(Note("a"))
        answer = asyncio.ensure_future(ref.ask(Echo("after")))
        await asyncio.sleep(0)  # let the ask task enqueue its message
        await ref.tell(Note("b"))
        assert ref.mailbox_depth == 4
        made[0].release.set()
        assert await answer == "after"
        await journal.wait_for("w1:b")
    assert journal.entries == ["start:w0", "w0:blocked", "start:w1", "w1:a", "w1:b"]
    (stats,) = sup.stats()
    assert stats.restarts == 1
    assert stats.last_error == "ValueError: crash"
    assert stats.status == "running"
