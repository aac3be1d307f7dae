"""The ask being handled when the actor crashes fails with ActorCrashed naming the actor."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from supervision_testkit import Echo, Worker, worker

from supervision import ActorCrashed, ChildSpec, handles


@dataclass(frozen=True, slots=True)
class CrashSoon:
    pass


class Fragile(Worker):
    @handles(CrashSoon)
    async def crash_soon(self, msg: CrashSoon) -> None:
        async def explode() -> None:
            raise OSError("disk went away")

        self.spawn(explode(), name="explode")
        await asyncio.Event().wait()  # the spawned task's failure crashes us meanwhile


async def test_inflight_ask_gets_actor_crashed(tree, journal) -> None:
    sup = tree("root", [ChildSpec("f", lambda: Fragile(journal, "f"))])
    await sup.start()
    ref = sup.ref("f")
    async with asyncio.timeout(10):
        crashing = asyncio.ensure_future(ref.ask(CrashSoon()))
        await asyncio.sleep(0)  # CrashSoon is queued first
        queued = asyncio.ensure_future(ref.ask(Echo("queued behind")))
        with pytest.raises(
            ActorCrashed, match=r"actor root/f crashed while handling CrashSoon"
        ) as caught:
            await crashing
        assert "OSError: disk went away" in str(caught.value)
        assert caught.value.actor == "root/f"
        assert await queued == "queued behind"
    (stats,) = sup.stats()
    assert stats.restarts == 1
    assert stats.last_error == "OSError: disk went away"


async def test_crashed_is_not_a_timeout(tree, journal) -> None:
    sup = tree("root", [ChildSpec("w", worker(journal, "w"))])
    await sup.start()
    assert not issubclass(ActorCrashed, TimeoutError)
    async with asyncio.timeout(10):
        assert await sup.ref("w").ask(Echo(1)) == 1
