"""A child failing to start stops the children already started, in reverse, and start() raises."""

from __future__ import annotations

import asyncio

import pytest
from supervision_testkit import Echo, Worker, worker

from supervision import ActorStopped, ChildSpec, StartError


class BadStart(Worker):
    async def started(self) -> None:
        self.journal.record(f"start:{self.tag}")
        raise ConnectionError("no database")


def broken_factory() -> Worker:
    raise LookupError("no such plugin")


@pytest.mark.parametrize(
    ("factory_kind", "error_text"),
    [("started", "ConnectionError: no database"), ("factory", "LookupError: no such plugin")],
)
async def test_start_failure_stops_started_children(
    tree, journal, factory_kind, error_text
) -> None:
    bad = (lambda: BadStart(journal, "b")) if factory_kind == "started" else broken_factory
    sup = tree(
        "root",
        [
            ChildSpec("a1", worker(journal, "a1")),
            ChildSpec("a2", worker(journal, "a2")),
            ChildSpec("b", bad),
            ChildSpec("c", worker(journal, "c")),
        ],
    )
    async with asyncio.timeout(10):
        with pytest.raises(StartError, match=f"child b failed to start: {error_text}") as caught:
            await sup.start()
        result = await sup.wait_exit()
        with pytest.raises(ActorStopped):
            await sup.ref("a1").ask(Echo(1))
        with pytest.raises(ActorStopped):
            await sup.ref("c").ask(Echo(1))
    assert caught.value.actor == "root/b"
    assert result.failed
    started = [e for e in journal.entries if e != "start:b"]
    assert started == ["start:a1", "start:a2", "stop:a2", "stop:a1"]
    stats = {s.name: (s.status, s.last_error) for s in sup.stats()}
    assert stats == {
        "root/a1": ("stopped", None),
        "root/a2": ("stopped", None),
        "root/b": ("failed", error_text),
        "root/c": ("stopped", None),
    }
    assert not sup.healthy


async def test_started_that_hangs_fails_the_start(tree, journal) -> None:
    class Hangs(Worker):
        async def started(self) -> None:
            await asyncio.Event().wait()

    sup = tree(
        "root",
        [
            ChildSpec("a", worker(journal, "a")),
            ChildSpec("h", lambda: Hangs(journal, "h"), start_timeout=0.05),
        ],
    )
    async with asyncio.timeout(10):
        with pytest.raises(StartError, match=r"started\(\) did not finish within 0\.05s"):
            await sup.start()
    assert journal.entries == ["start:a", "stop:a"]
