"""An exception in an ask handler goes back to the caller and the actor keeps running."""

from __future__ import annotations

import asyncio

import pytest
from supervision_testkit import Echo, Fail, worker

from supervision import ChildSpec


async def test_handler_exception_returns_to_caller(tree, journal) -> None:
    sup = tree("root", [ChildSpec("w", worker(journal, "w"))])
    await sup.start()
    ref = sup.ref("w")
    async with asyncio.timeout(10):
        for attempt in range(3):
            with pytest.raises(ValueError, match=f"bad {attempt}"):
                await ref.ask(Fail(f"bad {attempt}"))
        assert await ref.ask(Echo("still here")) == "still here"
    (stats,) = sup.stats()
    assert (stats.status, stats.restarts, stats.last_error, stats.processed) == (
        "running",
        0,
        None,
        4,
    )
    assert journal.count("start:w") == 1
    assert sup.healthy
