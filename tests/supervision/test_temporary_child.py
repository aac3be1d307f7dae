"""A temporary child is never restarted, not even by a sibling's one_for_all restart."""

from __future__ import annotations

import asyncio

from supervision_testkit import Fail, worker

from supervision import ChildSpec, Restart, Strategy
from tests.polling import wait_until


async def test_temporary_child_dropped_on_sibling_restart(tree, journal) -> None:
    sup = tree(
        "root",
        [
            ChildSpec("a", worker(journal, "a")),
            ChildSpec("tmp", worker(journal, "tmp"), restart=Restart.TEMPORARY),
            ChildSpec("c", worker(journal, "c")),
        ],
        strategy=Strategy.ONE_FOR_ALL,
    )
    await sup.start()
    async with asyncio.timeout(10):
        await sup.ref("a").tell(Fail())
        await journal.wait_for("start:c", times=2)
        assert sup.healthy
    assert journal.entries == [
        "start:a",
        "start:tmp",
        "start:c",
        "stop:c",
        "stop:tmp",
        "start:a",
        "start:c",
    ]
    assert [s.name for s in sup.stats()] == ["root/a", "root/c"]  # its spec is gone


async def test_temporary_crash_is_not_restarted(tree, journal) -> None:
    sup = tree(
        "root",
        [
            ChildSpec("tmp", worker(journal, "tmp"), restart=Restart.TEMPORARY),
            ChildSpec("b", worker(journal, "b")),
        ],
        strategy=Strategy.ONE_FOR_ALL,
    )
    await sup.start()
    async with asyncio.timeout(10):
        await sup.ref("tmp").tell(Fail())
        await wait_until(
            lambda: [s.name for s in sup.stats()] == ["root/b"], what="only root/b left"
        )
        await asyncio.sleep(0.05)  # room for a wrong restart to show up
    assert journal.entries == ["start:tmp", "start:b"]
    assert sup.healthy
