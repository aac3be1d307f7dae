"""10,000 asks while handlers fail and actors crash at random: every ask is answered."""

from __future__ import annotations

import asyncio
import collections
import random
from dataclasses import dataclass

from supervision import Actor, ActorCrashed, ChildSpec, handles
from tests.polling import wait_until

ACTORS = 4
CLIENTS = 50
ASKS_PER_CLIENT = 200


@dataclass(frozen=True, slots=True)
class Compute:
    n: int


@dataclass(frozen=True, slots=True)
class Refuse:
    n: int


@dataclass(frozen=True, slots=True)
class CrashWhileAsked:
    pass


@dataclass(frozen=True, slots=True)
class CrashByTell:
    pass


class Flaky(Actor):
    @handles(Compute)
    async def compute(self, msg: Compute) -> int:
        return msg.n * 2

    @handles(Refuse)
    def refuse(self, msg: Refuse) -> None:
        raise ValueError(f"refused {msg.n}")

    @handles(CrashWhileAsked)
    async def crash_while_asked(self, msg: CrashWhileAsked) -> None:
        async def explode() -> None:
            raise RuntimeError("injected crash")

        self.spawn(explode())
        await asyncio.Event().wait()

    @handles(CrashByTell)
    def crash_by_tell(self, msg: CrashByTell) -> None:
        raise RuntimeError("injected tell crash")


async def test_every_ask_answered_under_random_crashes(tree) -> None:
    rng = random.Random(20261126)
    plan = []  # per client: (actor index, kind, n, tell a crash first?)
    for _ in range(CLIENTS):
        steps = []
        for n in range(ASKS_PER_CLIENT):
            roll = rng.random()
            kind = "ok" if roll < 0.90 else "refuse" if roll < 0.98 else "crash"
            steps.append((rng.randrange(ACTORS), kind, n, rng.random() < 0.01))
        plan.append(steps)
    expected_crashes = collections.Counter()
    for steps in plan:
        for actor, kind, _, crash_tell in steps:
            expected_crashes[actor] += (kind == "crash") + crash_tell

    sup = tree(
        "root",
        [ChildSpec(f"a{i}", Flaky) for i in range(ACTORS)],
        max_restarts=100_000,
        backoff_initial=0.0,
        backoff_max=0.0,
    )
    refs = [sup.ref(f"a{i}") for i in range(ACTORS)]
    await sup.start()
    outcomes: collections.Counter[str] = collections.Counter()

    async def client(steps) -> None:
        for actor, kind, n, crash_tell in steps:
            ref = refs[actor]
            if crash_tell:
                await ref.tell(CrashByTell())
            if kind == "ok":
                assert await ref.ask(Compute(n), timeout=60) == n * 2
            elif kind == "refuse":
                try:
                    await ref.ask(Refuse(n), timeout=60)
                except ValueError as error:
                    assert str(error) == f"refused {n}"
                else:
                    raise AssertionError("Refuse was answered with a value")
            else:
                try:
                    await ref.ask(CrashWhileAsked(), timeout=60)
                except ActorCrashed as error:
                    assert "injected crash" in str(error)
                else:
                    raise AssertionError("CrashWhileAsked was answered with a value")
            outcomes[kind] += 1

    async with asyncio.timeout(60):
        await asyncio.gather(*(client(steps) for steps in plan))
        for ref in refs:  # everything sent before is handled once these are answered
            assert await ref.ask(Compute(1), timeout=60) == 2
        await wait_until(lambda: sup.healthy, what="a healthy tree")

    assert sum(outcomes.values()) == CLIENTS * ASKS_PER_CLIENT
    stats = {s.name: s for s in sup.stats()}
    for i in range(ACTORS):
        assert stats[f"root/a{i}"].restarts == expected_crashes[i]
        assert stats[f"root/a{i}"].status == "running"
    handled = outcomes["ok"] + outcomes["refuse"] + ACTORS  # crashing messages do not count
    assert sum(s.processed for s in stats.values()) == handled
    assert sum(expected_crashes.values()) > 100  # the test really injected faults
