"""drain() takes the matching run at the head of the mailbox, for group commit."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from supervision_testkit import Block, Note, Worker

from supervision import ChildSpec, handles


@dataclass(frozen=True, slots=True)
class Save:
    n: int


@dataclass(frozen=True, slots=True)
class SaveLazy:
    n: int


@dataclass(frozen=True, slots=True)
class SaveBroken:
    n: int


@dataclass(frozen=True, slots=True)
class DrainOutside:
    pass


class Committer(Worker):
    """Commits every Save waiting at the head in one batch and answers each with its batch."""

    @handles(Save)
    async def save(self, msg: Save) -> list[int]:
        batch = self.drain(lambda m: isinstance(m, Save), limit=4)
        numbers = [msg.n] + [envelope.message.n for envelope in batch]
        self.journal.record(f"commit:{numbers}")
        for envelope in batch:
            assert envelope.is_ask and not envelope.answered
            envelope.reply(numbers)
        return numbers

    @handles(SaveLazy)
    def save_lazy(self, msg: SaveLazy) -> int:
        self.drain(lambda m: isinstance(m, SaveLazy), limit=10)
        return msg.n  # forgets to answer the drained asks

    @handles(SaveBroken)
    def save_broken(self, msg: SaveBroken) -> int:
        self.drain(lambda m: isinstance(m, SaveBroken), limit=10)
        raise OSError("fsync failed")

    @handles(DrainOutside)
    def drain_outside(self, msg: DrainOutside) -> None:
        async def later() -> None:
            self.drain(lambda m: True, limit=1)

        self.spawn(later())


async def _blocked(tree, journal, name: str = "c") -> tuple[object, Committer]:
    made: list[Committer] = []

    def factory() -> Committer:
        made.append(Committer(journal, name))
        return made[-1]

    sup = tree("root", [ChildSpec(name, factory)])
    await sup.start()
    ref = sup.ref(name)
    await ref.tell(Block())
    await journal.wait_for(f"{name}:blocked")
    return sup, made[0]


async def test_drain_takes_the_matching_run_at_the_head(tree, journal) -> None:
    async with asyncio.timeout(10):
        sup, actor = await _blocked(tree, journal)
        ref = sup.ref("c")
        first = [asyncio.ensure_future(ref.ask(Save(n))) for n in range(6)]
        await asyncio.sleep(0)
        await ref.tell(Note("barrier"))
        later = [asyncio.ensure_future(ref.ask(Save(n))) for n in (10, 11)]
        await asyncio.sleep(0)
        actor.release.set()
        answers = await asyncio.gather(*first, *later)
    assert answers == [[0, 1, 2, 3, 4]] * 5 + [[5]] + [[10, 11]] * 2
    assert journal.matching("commit:") == [
        "commit:[0, 1, 2, 3, 4]",
        "commit:[5]",
        "commit:[10, 11]",
    ]
    assert journal.entries.index("c:barrier") < journal.entries.index("commit:[10, 11]")
    assert sup.stats()[0].processed == 10  # Block, 8 saves, the barrier


async def test_unanswered_drained_asks_get_an_error(tree, journal) -> None:
    async with asyncio.timeout(10):
        sup, actor = await _blocked(tree, journal)
        ref = sup.ref("c")
        asks = [asyncio.ensure_future(ref.ask(SaveLazy(n))) for n in range(3)]
        await asyncio.sleep(0)
        actor.release.set()
        results = await asyncio.gather(*asks, return_exceptions=True)
    assert results[0] == 0
    for result in results[1:]:
        assert isinstance(result, RuntimeError)
        assert "drained SaveLazy but did not answer it" in str(result)


async def test_drained_asks_share_the_handler_error(tree, journal) -> None:
    async with asyncio.timeout(10):
        sup, actor = await _blocked(tree, journal)
        ref = sup.ref("c")
        asks = [asyncio.ensure_future(ref.ask(SaveBroken(n))) for n in range(3)]
        await asyncio.sleep(0)
        actor.release.set()
        results = await asyncio.gather(*asks, return_exceptions=True)
    assert [type(r) for r in results] == [OSError] * 3
    assert sup.stats()[0].restarts == 0  # an ask handler error: the actor lives on


async def test_drain_outside_a_handler_crashes_the_caller(tree, journal) -> None:
    async with asyncio.timeout(10):
        sup, actor = await _blocked(tree, journal)
        actor.release.set()
        await sup.ref("c").tell(DrainOutside())
        await journal.wait_for("start:c", times=2)
    assert sup.stats()[0].last_error == "RuntimeError: drain() is for use inside a message handler"


def test_envelope_reply_is_a_noop_for_tells() -> None:
    from supervision import Envelope

    envelope = Envelope(Note("x"), None)
    assert not envelope.is_ask and envelope.answered
    envelope.reply(1)
    envelope.fail(ValueError("ignored"))
    with pytest.raises(AttributeError):
        envelope.other = 1  # type: ignore[attr-defined]
