"""A transient child's normal exit is not restarted; its crash is; a permanent one always is."""

from __future__ import annotations

import asyncio

import pytest
from supervision_testkit import Echo, Fail, Quit, QuitByRaise, worker

from supervision import ActorStopped, ChildSpec, Restart


@pytest.mark.parametrize("message", [Quit(), QuitByRaise()], ids=["stop()", "NormalExit"])
async def test_transient_normal_exit_is_not_restarted(tree, journal, message) -> None:
    sup = tree(
        "root",
        [
            ChildSpec("t", worker(journal, "t"), restart=Restart.TRANSIENT),
            ChildSpec("p", worker(journal, "p")),
        ],
    )
    await sup.start()
    ref = sup.ref("t")
    async with asyncio.timeout(10):
        await ref.tell(message)
        await journal.wait_for("stop:t")
        await asyncio.sleep(0.05)  # room for a wrong restart to show up
        with pytest.raises(ActorStopped):
            await ref.ask(Echo(1))
    assert journal.count("start:t") == 1
    stats = {s.name: s for s in sup.stats()}
    assert (stats["root/t"].status, stats["root/t"].restarts) == ("stopped", 0)
    assert sup.healthy  # a transient child that is done does not make the tree unhealthy


async def test_transient_crash_is_restarted(tree, journal) -> None:
    sup = tree("root", [ChildSpec("t", worker(journal, "t"), restart=Restart.TRANSIENT)])
    await sup.start()
    async with asyncio.timeout(10):
        await sup.ref("t").tell(Fail())
        await journal.wait_for("start:t", times=2)
        assert await sup.ref("t").ask(Echo(2)) == 2


async def test_permanent_normal_exit_is_restarted(tree, journal) -> None:
    sup = tree("root", [ChildSpec("p", worker(journal, "p"))])
    await sup.start()
    async with asyncio.timeout(10):
        await sup.ref("p").tell(Quit())
        await journal.wait_for("start:p", times=2)
        assert await sup.ref("p").ask(Echo(3)) == 3
    assert journal.entries == ["start:p", "stop:p", "start:p"]
    assert sup.stats()[0].last_error is None  # a normal exit is not an error
