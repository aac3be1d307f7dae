"""ask returns the handler's value; tells run in order; unknown message types are handled safely."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from supervision_testkit import Echo, Note, worker

from supervision import Actor, ChildSpec, NoHandler, handles


@dataclass(frozen=True, slots=True)
class Base:
    n: int


@dataclass(frozen=True, slots=True)
class Derived(Base):
    pass


@dataclass(frozen=True, slots=True)
class Unknown:
    pass


class Doubler(Actor):
    @handles(Base)
    def double(self, msg: Base) -> int:  # a sync handler
        return msg.n * 2


async def test_ask_returns_value_and_tells_keep_order(tree, journal) -> None:
    sup = tree("root", [ChildSpec("w", worker(journal, "w"))])
    await sup.start()
    ref = sup.ref("w")
    async with asyncio.timeout(10):
        for text in ("a", "b", "c"):
            await ref.tell(Note(text))
        ref.tell_nowait(Note("d"))
        assert await ref.ask(Echo({"x": 1})) == {"x": 1}
    assert journal.matching("w:") == ["w:a", "w:b", "w:c", "w:d"]
    assert ref.name == "root/w"


async def test_sync_handler_and_dispatch_by_base_class(tree) -> None:
    sup = tree("root", [ChildSpec("d", Doubler)])
    await sup.start()
    async with asyncio.timeout(10):
        assert await sup.ref("d").ask(Base(2)) == 4
        assert await sup.ref("d").ask(Derived(5)) == 10


async def test_ask_without_handler_raises_and_actor_lives_on(tree) -> None:
    sup = tree("root", [ChildSpec("d", Doubler)])
    await sup.start()
    ref = sup.ref("d")
    async with asyncio.timeout(10):
        with pytest.raises(NoHandler, match="root/d has no handler for Unknown"):
            await ref.ask(Unknown())
        await ref.tell(Unknown())  # logged and dropped, no crash
        assert await ref.ask(Base(1)) == 2
    (stats,) = sup.stats()
    assert stats.restarts == 0
    assert stats.processed == 3


def test_two_handlers_for_one_type_is_a_class_error() -> None:
    with pytest.raises(TypeError, match="both handle Base"):

        class Twice(Actor):
            @handles(Base)
            def one(self, msg: Base) -> None: ...

            @handles(Base)
            def two(self, msg: Base) -> None: ...


def test_handles_needs_classes() -> None:
    with pytest.raises(TypeError):
        handles("Base")  # type: ignore[arg-type]


async def test_subclass_inherits_and_overrides_handlers(tree) -> None:
    class Tripler(Doubler):
        def double(self, msg: Base) -> int:  # overrides the method behind the inherited route
            return msg.n * 3

    sup = tree("root", [ChildSpec("t", Tripler)])
    await sup.start()
    async with asyncio.timeout(10):
        assert await sup.ref("t").ask(Base(2)) == 6
