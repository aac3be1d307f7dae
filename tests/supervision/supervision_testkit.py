"""Test actors and waiting helpers shared by the supervision tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from supervision import Actor, NormalExit, handles

WAIT = 10.0  # generous: the machine is small and shared


class Journal:
    """An ordered log of what test actors did; tests wait on entries, never on the clock."""

    def __init__(self) -> None:
        self.entries: list[str] = []
        self._waiters: list[tuple[Callable[[list[str]], bool], asyncio.Future[None]]] = []

    def record(self, entry: str) -> None:
        self.entries.append(entry)
        for predicate, future in list(self._waiters):
            if not future.done() and predicate(self.entries):
                future.set_result(None)

    def count(self, entry: str) -> int:
        return self.entries.count(entry)

    def matching(self, prefix: str) -> list[str]:
        return [entry for entry in self.entries if entry.startswith(prefix)]

    async def wait_for(self, entry: str, times: int = 1, timeout: float = WAIT) -> None:
        await self.wait_until(lambda entries: entries.count(entry) >= times, timeout)

    async def wait_until(
        self, predicate: Callable[[list[str]], bool], timeout: float = WAIT
    ) -> None:
        if predicate(self.entries):
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiter = (predicate, future)
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await future
        except TimeoutError:
            raise AssertionError(f"journal never matched; entries: {self.entries}") from None
        finally:
            self._waiters.remove(waiter)


@dataclass(frozen=True, slots=True)
class Echo:
    value: Any


@dataclass(frozen=True, slots=True)
class Fail:
    text: str = "boom"


@dataclass(frozen=True, slots=True)
class Note:
    text: str


@dataclass(frozen=True, slots=True)
class Quit:
    pass


@dataclass(frozen=True, slots=True)
class QuitByRaise:
    pass


@dataclass(frozen=True, slots=True)
class Block:
    pass


class Worker(Actor):
    """Records its lifecycle as ``start:<tag>`` / ``stop:<tag>`` and obeys the messages above."""

    def __init__(self, journal: Journal, tag: str) -> None:
        super().__init__()
        self.journal = journal
        self.tag = tag
        self.release = asyncio.Event()

    async def started(self) -> None:
        self.journal.record(f"start:{self.tag}")

    async def stopping(self) -> None:
        self.journal.record(f"stop:{self.tag}")

    @handles(Echo)
    async def echo(self, msg: Echo) -> Any:
        return msg.value

    @handles(Fail)
    def fail(self, msg: Fail) -> None:
        raise ValueError(msg.text)

    @handles(Note)
    def note(self, msg: Note) -> None:
        self.journal.record(f"{self.tag}:{msg.text}")

    @handles(Quit)
    def quit(self, msg: Quit) -> None:
        self.stop()

    @handles(QuitByRaise)
    def quit_by_raise(self, msg: QuitByRaise) -> None:
        raise NormalExit

    @handles(Block)
    async def block(self, msg: Block) -> None:
        self.journal.record(f"{self.tag}:blocked")
        await self.release.wait()


def worker(journal: Journal, tag: str) -> Callable[[], Worker]:
    """A factory for ``ChildSpec``: a fresh ``Worker`` per (re)start."""
    return lambda: Worker(journal, tag)


def supervisor(name: str, children: list[Any], **options: Any) -> Any:
    """A ``Supervisor`` with test-friendly defaults: no pings, tiny backoff, roomy intensity."""
    from supervision import Supervisor

    settings: dict[str, Any] = {
        "ping_interval": None,
        "backoff_initial": 0.001,
        "backoff_max": 0.01,
        "max_restarts": 20,
        "period": 60.0,
    }
    settings.update(options)
    return Supervisor(name, children, **settings)
