"""Refs exist before start and outlive restarts; asks sent meanwhile wait in the mailbox."""

from __future__ import annotations

import asyncio

import pytest
from supervision_testkit import Echo, Fail, Note, Worker, worker

from supervision import AskTimeout, ChildSpec, Supervisor


async def test_ref_before_start_queues_messages(tree, journal) -> None:
    sup = tree("root", [ChildSpec("w", worker(journal, "w"))])
    ref = sup.ref("w")
    await ref.tell(Note("early"))
    early = asyncio.ensure_future(ref.ask(Echo("early ask"), timeout=10))
    await asyncio.sleep(0)
    assert ref.mailbox_depth == 2
    async with asyncio.timeout(10):
        await sup.start()
        assert await early == "early ask"
    assert journal.entries == ["start:w", "w:early"]
    assert sup.ref("w") is ref and sup.ref("w") == ref


def test_unknown_child_id() -> None:
    sup = Supervisor("root", [], ping_interval=None)
    with pytest.raises(KeyError, match="root has no child 'ghost'"):
        sup.ref("ghost")


def test_bad_specs_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        Supervisor("root", [ChildSpec("a", Worker), ChildSpec("a", Worker)])
    with pytest.raises(ValueError):
        ChildSpec("a/b", Worker)
    with pytest.raises(ValueError):
        ChildSpec("a", Worker, mailbox_size=0)


async def test_asks_wait_while_the_actor_restarts(tree, journal) -> None:
    second_start = asyncio.Event()

    class SlowRestart(Worker):
        async def started(self) -> None:
            self.journal.record(f"start:{self.tag}")
            if self.journal.count(f"start:{self.tag}") == 2:
                await second_start.wait()

    sup = tree("root", [ChildSpec("w", lambda: SlowRestart(journal, "w"))])
    await sup.start()
    ref = sup.ref("w")
    async with asyncio.timeout(10):
        await ref.tell(Fail())
        await journal.wait_for("start:w", times=2)
        assert sup.stats()[0].status == "restarting"
        with pytest.raises(AskTimeout):
            await ref.ask(Echo("too impatient"), timeout=0.05)
        waiting = asyncio.ensure_future(ref.ask(Echo("patient"), timeout=10))
        await asyncio.sleep(0)
        assert not waiting.done()
        second_start.set()
        assert await waiting == "patient"
    assert sup.stats()[0].status == "running"


async def test_a_factory_must_return_an_actor_or_supervisor(tree) -> None:
    from supervision import StartError

    sup = tree("root", [ChildSpec("x", lambda: "not an actor")])
    with pytest.raises(StartError, match="expected an Actor or a Supervisor"):
        async with asyncio.timeout(10):
            await sup.start()
