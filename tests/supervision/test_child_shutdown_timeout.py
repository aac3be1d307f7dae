"""Children stop in reverse order; one slower than its shutdown timeout is cancelled."""

from __future__ import annotations

import asyncio
import time

from supervision_testkit import Worker, worker

from supervision import ChildSpec


class Slow(Worker):
    async def stopping(self) -> None:
        self.journal.record(f"stopping:{self.tag}")
        try:
            await asyncio.Event().wait()  # never finishes on its own
        except asyncio.CancelledError:
            self.journal.record(f"cancelled:{self.tag}")
            raise


async def test_slow_child_is_cancelled_after_its_timeout(tree, journal) -> None:
    sup = tree(
        "root",
        [
            ChildSpec("a", worker(journal, "a")),
            ChildSpec("slow", lambda: Slow(journal, "slow"), shutdown=0.1),
            ChildSpec("c", worker(journal, "c")),
        ],
    )
    await sup.start()
    async with asyncio.timeout(10):
        began = time.monotonic()
        result = await sup.stop()
        took = time.monotonic() - began
    assert not result.failed
    assert journal.entries[3:] == ["stop:c", "stopping:slow", "cancelled:slow", "stop:a"]
    assert took >= 0.09
    assert {s.name: s.status for s in sup.stats()} == {
        "root/a": "stopped",
        "root/slow": "stopped",
        "root/c": "stopped",
    }
