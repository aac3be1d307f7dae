"""Liveness: ping each running actor child ahead of its queue; report those that stay silent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from supervision.child import Child
from supervision.stats import Status

WedgedCallback = Callable[[Child, "asyncio.Task[object]"], None]


async def ping_loop(
    children: Callable[[], Iterable[Child]],
    interval: float,
    deadline: float,
    on_wedged: WedgedCallback,
) -> None:
    """Every ``interval`` seconds ping the running actors; no answer in ``deadline``: wedged."""
    while True:
        await asyncio.sleep(interval)
        probes: dict[asyncio.Future[None], tuple[Child, asyncio.Task[object]]] = {}
        for child in children():
            task = child.task
            if task is None or task.done() or child.sup is not None:
                continue
            if child.cell.status is Status.RUNNING:
                probes[child.cell.ping()] = (child, task)
        if not probes:
            continue
        _, late = await asyncio.wait(set(probes), timeout=deadline)
        for probe in late:
            probe.cancel()
            child, task = probes[probe]
            if child.task is task:
                on_wedged(child, task)
