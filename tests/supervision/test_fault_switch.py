"""The fault switch: off unless the environment arms it at start; SIGUSR2 then crashes the named
actors in turn, as a bug would (restarted, counted, queued messages kept). Only run.py may
arm it: neither web/ nor actors/ can reach it."""

from __future__ import annotations

import asyncio
import os
import re

import pytest
from supervision_testkit import Echo, Journal, worker

from supervision import ChildSpec
from supervision.faults import ENV, SIGNAL, FaultInjector
from tests.polling import wait_until
from tests.walls import imports, sources


def test_off_without_the_environment_variable(tree) -> None:
    sup = tree("root", [ChildSpec("a", worker(Journal(), "a"))])
    assert FaultInjector.from_env(sup, {}) is None
    assert FaultInjector.from_env(sup, {ENV: "  "}) is None
    with pytest.raises(ValueError, match="unknown"):
        FaultInjector.from_env(sup, {ENV: "a,nobody"})


async def test_each_signal_crashes_the_next_actor_and_it_recovers(tree) -> None:
    journal = Journal()
    sup = tree("root", [ChildSpec(tag, worker(journal, tag)) for tag in ("a", "b")])
    await sup.start()
    faults = FaultInjector.from_env(sup, {ENV: "all"})
    assert faults is not None and faults.victims == ("a", "b")
    loop = asyncio.get_running_loop()
    faults.install(loop)
    try:
        for expected in ({"a": 1, "b": 0}, {"a": 1, "b": 1}, {"a": 2, "b": 1}):
            os.kill(os.getpid(), SIGNAL)

            def seen(expected: dict[str, int] = expected) -> bool:
                restarts = {s.name: s.restarts for s in sup.stats()}
                return restarts == {f"root/{k}": v for k, v in expected.items()} and sup.healthy

            await wait_until(seen, what=f"restarts {expected}", timeout=10)
    finally:
        faults.uninstall(loop)
    assert faults.injected == 3
    errors = {s.name: s.last_error for s in sup.stats()}
    assert "InjectedCrash" in (errors["root/a"] or "")
    assert await sup.ref("a").ask(Echo(7), timeout=5) == 7


async def test_a_message_queued_behind_the_crash_is_handled_after_it(tree) -> None:
    journal = Journal()
    sup = tree("root", [ChildSpec("a", worker(journal, "a"))])
    await sup.start()
    answer = asyncio.ensure_future(sup.ref("a").ask(Echo("after"), timeout=5))
    assert sup.inject_crash("a") is True  # ahead of the queued ask
    assert await answer == "after"
    assert [s.restarts for s in sup.stats()] == [1]


CRASH_CALL = re.compile(r"\binject_crash\b|\bFaultInjector\b")


def reaches_the_switch(path: str, text: str) -> list[int]:
    lines = {
        line for line, module in imports(path, text) if module.startswith("supervision.faults")
    }
    lines |= {n for n, row in enumerate(text.splitlines(), 1) if CRASH_CALL.search(row)}
    return sorted(lines)


def test_neither_web_nor_actors_can_reach_the_switch() -> None:
    found = [
        f"{path}:{line}"
        for package in ("web", "actors")
        for path, text in sources(package)
        for line in reaches_the_switch(path, text)
    ]
    assert found == []


def test_the_detector_sees_an_import_and_a_call() -> None:
    assert reaches_the_switch("web/x.py", "from supervision.faults import ENV\n") == [1]
    assert reaches_the_switch("web/x.py", "import supervision.faults\n") == [1]
    assert reaches_the_switch("actors/x.py", "x = 1\nsystem.tree.inject_crash('state')\n") == [2]
    assert reaches_the_switch("actors/x.py", "x = 1\n") == []
