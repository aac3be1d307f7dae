"""What a supervisor does when a child exits: restart by strategy, with intensity and backoff."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog

from supervision.child import Child
from supervision.errors import ActorWedged
from supervision.intensity import RestartIntensity
from supervision.specs import Exit, ExitKind, Restart, Strategy
from supervision.stats import Status, short_error

log = structlog.get_logger(__name__)

RETRY = object()  # the event a backoff timer posts to the supervisor's inbox


@dataclass(frozen=True, slots=True)
class RestartHost:
    """The supervisor as its ``Restarter`` sees it, wired by the supervisor, read at each use.

    ``children()``: the current children in start order (fresh at each start); ``discard``
    drops a temporary child for good; ``start`` runs a new incarnation of a child and raises
    what made it fail; ``post`` puts an event (``RETRY``) in the control loop's inbox.
    """

    path: Callable[[], str]
    strategy: Callable[[], Strategy]
    children: Callable[[], Sequence[Child]]
    discard: Callable[[Child], None]
    start: Callable[[Child], Awaitable[None]]
    post: Callable[[object], None]


class Restarter:
    """The restart half of one supervisor's control loop (OTP's restart/try_again_restart).

    Children waiting for a restart are kept in ``pending`` with the loop time they are due;
    a timer posts ``RETRY`` and ``retry()`` starts those due, in start order. Nothing sleeps,
    so a stop request is handled between attempts.
    """

    def __init__(self, host: RestartHost, intensity: RestartIntensity) -> None:
        self.host = host
        self.intensity = intensity
        self.pending: dict[str, float] = {}
        self.gave_up: str | None = None
        self.culprit: Child | None = None
        self._timers: list[asyncio.TimerHandle] = []

    def reset(self) -> None:
        self.intensity.clear()
        self.pending.clear()
        self.gave_up = None
        self.culprit = None
        self.cancel_timers()

    def cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    async def on_wedged(self, child: Child, task: asyncio.Task[object], deadline: float) -> None:
        """Kill an actor that missed its liveness ping, then treat it as crashed."""
        if child.task is not task or task.done():
            return
        error = ActorWedged(
            f"wedged: no answer to a liveness ping within {deadline:g}s", actor=child.path
        )
        log.error("actor_wedged", supervisor=self.host.path(), actor=child.path)
        child.task = None
        child.cell.kill_cause = error
        if not await child.kill(task):
            child.cell.status = Status.FAILED  # a zombie still reads the mailbox: no restart
            return
        await self.on_exit(child, Exit(ExitKind.CRASHED, error))

    async def on_exit(self, child: Child, outcome: Exit) -> None:
        """A child ended on its own: finish it, or restart it (and its group)."""
        restart = child.spec.restart
        if outcome.abnormal:
            error = outcome.error or asyncio.CancelledError("cancelled outside its supervisor")
            if child.sup is None:
                child.cell.note_error(error)
            log.error(
                "child_crashed",
                supervisor=self.host.path(),
                actor=child.path,
                error=short_error(error),
                restart=restart.value,
                exc_info=error if child.sup is None else None,
            )
        else:
            log.info("child_exited", supervisor=self.host.path(), actor=child.path)
        if restart is Restart.TEMPORARY or (restart is Restart.TRANSIENT and not outcome.abnormal):
            child.finish()
            if restart is Restart.TEMPORARY:
                self.host.discard(child)
            return
        await self._restart(child)

    async def _restart(self, child: Child) -> None:
        if not self.intensity.record(child.id):
            self._give_up(child)
            return
        group = self._group(child)
        for other in reversed(group):
            if other is child or not other.running:
                continue
            temporary = other.spec.restart is Restart.TEMPORARY
            await other.stop(final=temporary)
            if temporary:
                self.host.discard(other)
        children = self.host.children()
        delay = self.intensity.backoff(child.id)
        due = asyncio.get_running_loop().time() + delay
        for member in group:
            if member in children:
                member.set_status(Status.RESTARTING)
                self.pending[member.id] = max(self.pending.get(member.id, 0.0), due)
        self._schedule(delay)

    def _group(self, child: Child) -> list[Child]:
        children = self.host.children()
        strategy = self.host.strategy()
        if strategy is Strategy.ONE_FOR_ONE:
            return [child]
        if strategy is Strategy.ONE_FOR_ALL:
            return list(children)
        return list(children[children.index(child) :])

    async def retry(self) -> None:
        """Start the pending children that are due, in start order; reschedule failures."""
        loop = asyncio.get_running_loop()
        ordered = self.host.strategy() is not Strategy.ONE_FOR_ONE
        blocked = False
        for child in list(self.host.children()):
            due = self.pending.get(child.id)
            if due is None:
                continue
            if blocked or due > loop.time():
                blocked = ordered  # later siblings wait for the earlier ones
                continue
            try:
                await self.host.start(child)
            except Exception as error:
                if child.sup is None:
                    child.cell.note_error(error)
                log.error(
                    "restart_failed",
                    supervisor=self.host.path(),
                    actor=child.path,
                    error=short_error(error),
                )
                if not self.intensity.record(child.id):
                    self._give_up(child)
                    return
                delay = self.intensity.backoff(child.id)
                self.pending[child.id] = loop.time() + delay
                self._schedule(delay)
                blocked = ordered
                continue
            del self.pending[child.id]

    def _give_up(self, child: Child) -> None:
        limit = self.intensity
        self.gave_up = (
            f"child {child.id} passed the restart limit "
            f"({limit.max_restarts} restarts within {limit.period:g}s)"
        )
        self.culprit = child
        log.error("supervisor_gave_up", supervisor=self.host.path(), reason=self.gave_up)

    def _schedule(self, delay: float) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._timers = [t for t in self._timers if t.when() > now and not t.cancelled()]
        self._timers.append(loop.call_later(delay, self.host.post, RETRY))
