"""The suite's polling helper: answers the first truthy value, and fails by name when it cannot."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.polling import wait_until


async def test_it_answers_the_first_truthy_value_of_a_sync_or_async_condition() -> None:
    checks: list[int] = []

    def sync_condition() -> int:
        checks.append(len(checks) + 1)
        return checks[-1] if len(checks) >= 3 else 0

    assert await wait_until(sync_condition, what="a third check", interval=0.001) == 3

    async def async_condition() -> str | None:
        await asyncio.sleep(0)
        return "ready" if len(checks) >= 5 else checks.append(0)

    assert await wait_until(async_condition, what="two more checks", interval=0.001) == "ready"


async def test_a_timeout_names_what_was_awaited_and_the_last_value() -> None:
    started = time.monotonic()
    with pytest.raises(AssertionError) as caught:
        await wait_until(lambda: [], what="the moon", timeout=0.2)
    assert str(caught.value) == "timed out after 0.2 s waiting for the moon (last seen: [])"
    assert time.monotonic() - started < 2.0


async def test_it_checks_a_bounded_number_of_times() -> None:
    checks: list[None] = []
    with pytest.raises(AssertionError):
        await wait_until(lambda: checks.append(None), what="nothing", timeout=0.1, interval=0.02)
    assert 1 <= len(checks) <= 6


async def test_a_condition_that_hangs_is_bounded_too() -> None:
    async def hangs() -> bool:
        await asyncio.Event().wait()
        return True

    with pytest.raises(AssertionError, match="a hung request"):
        await wait_until(hangs, what="a hung request", timeout=0.2)


async def test_the_conditions_own_timeout_is_not_mistaken_for_ours() -> None:
    async def times_out() -> bool:
        raise TimeoutError("the condition's own")

    with pytest.raises(TimeoutError, match="the condition's own"):
        await wait_until(times_out, what="anything", timeout=5)
