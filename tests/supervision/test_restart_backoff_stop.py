"""A failing restart is retried with growing backoff, and a stop request still gets through."""

from __future__ import annotations

import asyncio
import itertools
import time

from supervision_testkit import Fail, Worker

from supervision import ChildSpec


async def test_failing_restart_retried_with_backoff_and_stop_honoured(tree, journal) -> None:
    attempts: list[float] = []
    enough = asyncio.Event()

    def factory() -> Worker:
        if journal.count("start:w"):  # every restart fails
            attempts.append(time.monotonic())
            if len(attempts) >= 6:
                enough.set()
            raise OSError("config unreadable")
        return Worker(journal, "w")

    sup = tree(
        "root",
        [ChildSpec("w", factory)],
        backoff_initial=0.02,
        backoff_max=10.0,
        max_restarts=100,
    )
    await sup.start()
    async with asyncio.timeout(10):
        await sup.ref("w").tell(Fail())
        await enough.wait()
        began = time.monotonic()
        result = await sup.stop()
        assert time.monotonic() - began < 1.0  # not stuck behind the next backoff (1.28 s)
    tried = len(attempts)
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    # attempt n waits 0.02 * 2**n: the gaps grow (lower bounds hold even on a loaded machine)
    for n, gap in enumerate(gaps[:5], start=1):
        assert gap >= 0.02 * 2**n * 0.9
    assert not result.failed
    (stats,) = sup.stats()
    assert stats.status == "stopped"
    assert stats.last_error == "OSError: config unreadable"
    assert stats.restarts == tried


async def test_restart_that_keeps_failing_trips_the_limit(tree, journal) -> None:
    def factory() -> Worker:
        if journal.count("start:w"):
            raise OSError("still broken")
        return Worker(journal, "w")

    sup = tree("root", [ChildSpec("w", factory)], max_restarts=3)
    await sup.start()
    async with asyncio.timeout(10):
        await sup.ref("w").tell(Fail())
        result = await sup.wait_exit()
    assert result.failed
    (stats,) = sup.stats()
    # max_restarts=3: three attempts are made; the third one failing passes the limit
    assert (stats.status, stats.restarts) == ("failed", 3)
