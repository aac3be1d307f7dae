"""A wedged actor whose own tasks take a while to clean up is still restarted, and nothing
spawned while an incarnation ends ever runs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from supervision import Actor, ChildSpec, handles
from tests.polling import wait_until


@dataclass(frozen=True, slots=True)
class Wedge:
    pass


@dataclass(frozen=True, slots=True)
class Hello:
    pass


class SlowCleanup(Actor):
    """Owns a task whose cleanup outlasts the kill grace, and spawns again from its finally."""

    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    async def started(self) -> None:
        self.spawn(self._worker(), name="worker")

    async def _worker(self) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(2.5)  # e.g. waiting for a killed subprocess to be reaped
            self.log.append("cleaned")
            self.spawn(self._late(), name="late")

    async def _late(self) -> None:
        self.log.append("late task ran")

    @handles(Wedge)
    async def wedge(self, msg: Wedge) -> None:
        await asyncio.Event().wait()

    @handles(Hello)
    def hello(self, msg: Hello) -> str:
        return "hello"


async def test_wedged_actor_with_slow_cleanup_is_restarted(tree) -> None:
    log: list[str] = []
    sup = tree(
        "root",
        [ChildSpec("slow", lambda: SlowCleanup(log), shutdown=5.0)],
        ping_interval=0.05,
        ping_timeout=0.3,
    )
    await sup.start()
    ref = sup.ref("slow")
    ref.tell_nowait(Wedge())
    async with asyncio.timeout(20):
        await wait_until(
            lambda: sup.stats()[0].restarts == 1 and sup.healthy,
            what="one restart and a healthy tree",
            timeout=15,
        )
        assert await ref.ask(Hello(), timeout=5) == "hello"
    assert log[0] == "cleaned"
    assert "late task ran" not in log
