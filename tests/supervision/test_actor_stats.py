"""Per-actor stats: status, restarts, last error, last restart time, mailbox depth, processed."""

from __future__ import annotations

import asyncio
import re

from supervision_testkit import Block, Echo, Fail, Note, Worker, worker

from supervision import ActorStats, ChildSpec, Restart
from tests.polling import wait_until

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def test_stats_values(tree, journal) -> None:
    made: list[Worker] = []

    def factory() -> Worker:
        made.append(Worker(journal, f"b{len(made)}"))
        return made[-1]

    sup = tree("root", [ChildSpec("a", worker(journal, "a")), ChildSpec("b", factory)])
    assert [s.status for s in sup.stats()] == ["stopped", "stopped"]
    assert not sup.healthy
    await sup.start()
    assert sup.healthy
    a, b = sup.ref("a"), sup.ref("b")
    async with asyncio.timeout(10):
        for n in range(5):
            await a.ask(Echo(n))
        await b.tell(Block())
        await journal.wait_for("b0:blocked")
        await b.tell(Fail("disk full"))
        for text in ("x", "y", "z"):
            await b.tell(Note(text))
        stats = {s.name: s for s in sup.stats()}
        assert stats["root/a"] == ActorStats("root/a", "running", 0, None, None, 0, 5)
        assert stats["root/b"].mailbox_depth == 4
        assert stats["root/b"].processed == 0
        made[0].release.set()
        await journal.wait_for("b1:z")
        await wait_until(lambda: sup.stats()[1].mailbox_depth == 0, what="an empty mailbox")
    b_stats = sup.stats()[1]
    assert (b_stats.status, b_stats.restarts, b_stats.last_error) == (
        "running",
        1,
        "ValueError: disk full",
    )
    assert ISO_Z.match(b_stats.last_restart_at or "")
    assert b_stats.processed == 4  # Block and the three notes; the crashing Fail is not counted
    assert b_stats.as_dict() == {
        "name": "root/b",
        "status": "running",
        "restarts": 1,
        "last_error": "ValueError: disk full",
        "last_restart_at": b_stats.last_restart_at,
        "mailbox_depth": 0,
        "processed": 4,
    }


async def test_unhealthy_while_a_permanent_child_restarts(tree, journal) -> None:
    gate = asyncio.Event()

    def factory() -> Worker:
        if journal.count("start:p") and not gate.is_set():
            raise OSError("not yet")
        return Worker(journal, "p")

    sup = tree(
        "root",
        [
            ChildSpec("p", factory),
            ChildSpec("t", worker(journal, "t"), restart=Restart.TRANSIENT),
        ],
        backoff_initial=0.01,
        backoff_max=0.02,
        max_restarts=1000,
    )
    await sup.start()
    async with asyncio.timeout(10):
        await sup.ref("p").tell(Fail())
        await wait_until(
            lambda: sup.stats()[0].last_error == "OSError: not yet", what="the last error"
        )
        assert sup.stats()[0].status == "restarting"
        assert not sup.healthy
        gate.set()
        await wait_until(lambda: sup.healthy, what="a healthy tree")
        await sup.ref("t").tell(Fail())  # a transient child restarting does not count
        await journal.wait_for("start:t", times=2)
    assert sup.healthy


def test_long_errors_are_cut_to_one_short_line() -> None:
    from supervision.stats import short_error

    text = short_error(ValueError("line one\nline two " + "x" * 500))
    assert text.startswith("ValueError: line one line two x")
    assert len(text) == 200 and "\n" not in text
