"""A nested supervisor that gives up is a crashed child: its parent restarts it or escalates."""

from __future__ import annotations

import asyncio

import pytest
from supervision_testkit import Echo, Fail, supervisor, worker

from supervision import ActorStopped, ChildSpec, Supervisor
from tests.polling import wait_until


def plugins_tree(journal) -> Supervisor:
    return supervisor(
        "plugins",
        [ChildSpec("p1", worker(journal, "p1")), ChildSpec("p2", worker(journal, "p2"))],
        max_restarts=1,
    )


async def test_parent_restarts_a_nested_supervisor_that_gave_up(tree, journal) -> None:
    plugins = plugins_tree(journal)
    root = tree(
        "root",
        [
            ChildSpec("store", worker(journal, "store")),
            ChildSpec("plugins", lambda: plugins, shutdown=None),
        ],
        max_restarts=5,
    )
    p1 = plugins.ref("p1")  # taken before anything started; stays valid
    await root.start()
    assert [s.name for s in root.stats()] == ["root/store", "root/plugins/p1", "root/plugins/p2"]
    assert p1.name == "root/plugins/p1"
    async with asyncio.timeout(10):
        await p1.tell(Fail("first"))
        await journal.wait_for("start:p1", times=2)
        await p1.tell(Fail("second"))  # past the nested limit: plugins gives up
        await journal.wait_for("start:p2", times=2)
        await wait_until(lambda: root.healthy, what="a healthy root")
        assert await p1.ask(Echo("back")) == "back"
        with pytest.raises(ActorStopped, match="supervisor slot"):
            await root.ref("plugins").ask(Echo(1))
    assert journal.entries[3:] == ["start:p1", "stop:p2", "start:p1", "start:p2"]
    assert journal.count("start:store") == 1
    stats = {s.name: s for s in root.stats()}
    assert stats["root/plugins/p1"].restarts == 2
    assert stats["root/plugins/p2"].restarts == 1
    assert stats["root/store"].restarts == 0


async def test_nested_give_up_escalates_to_the_root(tree, journal) -> None:
    plugins = plugins_tree(journal)
    root = tree(
        "root",
        [
            ChildSpec("store", worker(journal, "store")),
            ChildSpec("plugins", lambda: plugins),
            ChildSpec("web", worker(journal, "web")),
        ],
        max_restarts=0,
    )
    await root.start()
    async with asyncio.timeout(10):
        for attempt in (1, 2):
            await plugins.ref("p1").tell(Fail())
            if attempt == 1:
                await journal.wait_for("start:p1", times=2)
        result = await root.wait_exit()
    assert result.failed
    assert "child plugins passed the restart limit" in result.reason
    assert journal.entries[-3:] == ["stop:p2", "stop:web", "stop:store"]
    assert not root.healthy
    assert {s.name: s.status for s in root.stats()} == {
        "root/store": "stopped",
        "root/plugins/p1": "failed",
        "root/plugins/p2": "failed",
        "root/web": "stopped",
    }
