"""rest_for_one restarts the dead child and those started after it, in order."""

from __future__ import annotations

import asyncio

from supervision_testkit import Echo, Fail, worker

from supervision import ChildSpec, Strategy


async def test_only_later_siblings_restart_in_order(tree, journal) -> None:
    sup = tree(
        "root",
        [ChildSpec(tag, worker(journal, tag)) for tag in ("a", "b", "c", "d")],
        strategy=Strategy.REST_FOR_ONE,
    )
    await sup.start()
    async with asyncio.timeout(10):
        await sup.ref("b").tell(Fail())
        await journal.wait_for("start:d", times=2)
        for tag in "abcd":
            assert await sup.ref(tag).ask(Echo(tag)) == tag
    assert journal.entries[4:] == ["stop:d", "stop:c", "start:b", "start:c", "start:d"]
    assert journal.count("start:a") == 1
    restarts = {s.name: s.restarts for s in sup.stats()}
    assert restarts == {"root/a": 0, "root/b": 1, "root/c": 1, "root/d": 1}
    assert sup.healthy


async def test_one_for_all_restarts_everyone(tree, journal) -> None:
    sup = tree(
        "root",
        [ChildSpec(tag, worker(journal, tag)) for tag in ("a", "b", "c")],
        strategy=Strategy.ONE_FOR_ALL,
    )
    await sup.start()
    async with asyncio.timeout(10):
        await sup.ref("b").tell(Fail())
        await journal.wait_for("start:c", times=2)
    assert journal.entries[3:] == ["stop:c", "stop:a", "start:a", "start:b", "start:c"]


async def test_one_for_one_restarts_only_the_dead_child(tree, journal) -> None:
    sup = tree("root", [ChildSpec(tag, worker(journal, tag)) for tag in ("a", "b", "c")])
    await sup.start()
    async with asyncio.timeout(10):
        await sup.ref("b").tell(Fail())
        await journal.wait_for("start:b", times=2)
    assert journal.entries[3:] == ["start:b"]
