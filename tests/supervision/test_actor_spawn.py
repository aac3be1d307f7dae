"""Tasks spawned by an actor belong to its incarnation: cancelled with it, crashing it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from supervision_testkit import Echo, Worker

from supervision import ChildSpec, NormalExit, Restart, handles


@dataclass(frozen=True, slots=True)
class StartBackground:
    pass


@dataclass(frozen=True, slots=True)
class FailInBackground:
    pass


@dataclass(frozen=True, slots=True)
class ExitInBackground:
    pass


class Spawner(Worker):
    @handles(StartBackground)
    def start_background(self, msg: StartBackground) -> None:
        async def forever() -> None:
            self.journal.record(f"{self.tag}:bg-running")
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.journal.record(f"{self.tag}:bg-cancelled")
                raise

        self.spawn(forever(), name="forever")

    @handles(FailInBackground)
    def fail_in_background(self, msg: FailInBackground) -> None:
        async def fail() -> None:
            raise KeyError("lost")

        self.spawn(fail(), name="fail")

    @handles(ExitInBackground)
    def exit_in_background(self, msg: ExitInBackground) -> None:
        async def done() -> None:
            raise NormalExit

        self.spawn(done())


def spawner(journal, tag: str):
    return lambda: Spawner(journal, tag)


async def test_spawned_task_is_cancelled_on_stop(tree, journal) -> None:
    sup = tree("root", [ChildSpec("s", spawner(journal, "s"))])
    await sup.start()
    async with asyncio.timeout(10):
        await sup.ref("s").tell(StartBackground())
        await journal.wait_for("s:bg-running")
        await sup.stop()
    assert journal.entries[-2:] == ["stop:s", "s:bg-cancelled"]


async def test_spawned_task_failure_crashes_the_actor(tree, journal) -> None:
    sup = tree("root", [ChildSpec("s", spawner(journal, "s"))])
    await sup.start()
    ref = sup.ref("s")
    async with asyncio.timeout(10):
        await ref.tell(StartBackground())
        await journal.wait_for("s:bg-running")
        await ref.tell(FailInBackground())
        await journal.wait_for("start:s", times=2)
        assert await ref.ask(Echo(1)) == 1
    assert "s:bg-cancelled" in journal.entries  # the sibling task died with its incarnation
    (stats,) = sup.stats()
    assert (stats.restarts, stats.last_error) == (1, "KeyError: 'lost'")


async def test_spawned_normal_exit_stops_a_transient_actor(tree, journal) -> None:
    sup = tree("root", [ChildSpec("s", spawner(journal, "s"), restart=Restart.TRANSIENT)])
    await sup.start()
    async with asyncio.timeout(10):
        await sup.ref("s").tell(ExitInBackground())
        await journal.wait_for("stop:s")
    assert journal.count("start:s") == 1
