"""Past max_restarts within the period a supervisor stops its children (reverse) and gives up."""

from __future__ import annotations

import asyncio

import pytest
from supervision_testkit import Echo, Fail, worker

from supervision import ActorStopped, ChildSpec
from supervision.intensity import RestartIntensity


async def test_one_restart_too_many_stops_the_tree(tree, journal) -> None:
    sup = tree(
        "root",
        [ChildSpec(tag, worker(journal, tag)) for tag in ("a", "b", "c")],
        max_restarts=2,
        period=60.0,
    )
    await sup.start()
    ref = sup.ref("b")
    async with asyncio.timeout(10):
        for attempt in (1, 2):
            await ref.tell(Fail(f"crash {attempt}"))
            await journal.wait_for("start:b", times=attempt + 1)
        assert sup.healthy
        await ref.tell(Fail("crash 3"))
        result = await sup.wait_exit()
        with pytest.raises(ActorStopped):
            await sup.ref("a").ask(Echo(1))
    assert result.failed
    assert "child b passed the restart limit (2 restarts within 60s)" in result.reason
    assert journal.entries[-2:] == ["stop:c", "stop:a"]
    assert not sup.healthy
    statuses = {s.name: (s.status, s.restarts, s.last_error) for s in sup.stats()}
    assert statuses == {
        "root/a": ("stopped", 0, None),
        "root/b": ("failed", 2, "ValueError: crash 3"),
        "root/c": ("stopped", 0, None),
    }


def test_window_slides_and_counts_every_child() -> None:
    now = [0.0]
    window = RestartIntensity(2, 10.0, 0.5, 4.0, clock=lambda: now[0])
    assert window.record("a")
    now[0] = 1.0
    assert window.record("b")
    now[0] = 2.0
    assert not window.record("a")  # third restart within 10 s, across children
    window.clear()
    for moment in (0.0, 6.0, 12.0, 18.0):  # never more than 2 within any 10 s
        now[0] = moment
        assert window.record("a")


def test_backoff_doubles_per_child_up_to_the_cap() -> None:
    now = [0.0]
    window = RestartIntensity(100, 60.0, 0.5, 4.0, clock=lambda: now[0])
    delays = []
    for _ in range(6):
        window.record("a")
        delays.append(window.backoff("a"))
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    window.record("b")
    assert window.backoff("b") == 0.5
    now[0] = 100.0  # the window emptied: back to the initial delay
    window.record("a")
    assert window.backoff("a") == 0.5
