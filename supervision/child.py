"""One child slot of a supervisor: starts, watches and stops an actor or a nested supervisor."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog

from supervision.cell import ActorCell
from supervision.errors import SupervisorGaveUp
from supervision.specs import NORMAL_EXIT, ChildSpec, Exit, ExitKind, Restart, SupervisorExit
from supervision.stats import Status

if TYPE_CHECKING:
    from supervision.actor import Actor
    from supervision.supervisor import Supervisor

log = structlog.get_logger(__name__)

KILL_GRACE = 2.0  # after a cancel, how long to wait before calling a task unkillable


def exit_of(task: asyncio.Task[object]) -> Exit:
    """Read why a child's task ended (an actor incarnation or a nested supervisor's loop)."""
    if task.cancelled():
        return Exit(ExitKind.CANCELLED)
    error = task.exception()
    if error is not None:
        return Exit(ExitKind.CRASHED, error)
    result = task.result()
    if isinstance(result, Exit):
        return result
    if isinstance(result, SupervisorExit) and result.failed:
        return Exit(ExitKind.CRASHED, SupervisorGaveUp(result.reason))
    return NORMAL_EXIT


class Child:
    """The runtime state of one ``ChildSpec``: its cell, its current task, its nested supervisor."""

    def __init__(
        self,
        spec: ChildSpec,
        cell: ActorCell,
        on_exit: Callable[[Child, asyncio.Task[object]], None],
    ) -> None:
        self.spec = spec
        self.cell = cell
        self.sup: Supervisor | None = None
        self.task: asyncio.Task[object] | None = None
        self._on_exit = on_exit

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def permanent(self) -> bool:
        return self.spec.restart is Restart.PERMANENT

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def set_status(self, status: Status) -> None:
        if self.sup is not None:
            self.sup.set_status(status)
        else:
            self.cell.status = status

    async def start_actor(self, actor: Actor, *, restart: bool) -> None:
        """Launch an incarnation and wait for ``started()``; raise what made it fail."""
        self.sup = None
        task, ready = self.cell.launch(actor, restart=restart)
        try:
            await asyncio.wait(
                {ready, task}, timeout=self.spec.start_timeout, return_when=asyncio.FIRST_COMPLETED
            )
        except BaseException:
            task.cancel()
            raise
        if not ready.done():
            if not task.done():
                await self.kill(task)
                raise TimeoutError(f"started() did not finish within {self.spec.start_timeout:g}s")
            outcome = exit_of(task)
            if outcome.error is not None:
                raise outcome.error
            raise RuntimeError("the actor exited during started()")
        self._watch(task)

    async def start_supervisor(self, sup: Supervisor, path: str, *, restart: bool) -> None:
        """Start a nested supervisor under ``path``; its control task is what we watch."""
        self.cell.close("is a supervisor slot: use the nested supervisor's ref()")
        self.sup = sup
        sup.attach(path)
        try:
            async with asyncio.timeout(self.spec.start_timeout):
                task = await sup.start_nested(restart=restart)
        except TimeoutError:
            raise TimeoutError(
                f"supervisor did not start within {self.spec.start_timeout:g}s"
            ) from None
        self._watch(task)

    def _watch(self, task: asyncio.Task[object]) -> None:
        self.task = task
        task.add_done_callback(lambda done: self._on_exit(self, done))

    async def stop(self, *, final: bool, hurry: bool = False) -> None:
        """Stop the running incarnation: cleanly within ``shutdown`` seconds, then cancelled.

        ``final`` closes the mailbox (queued asks get ``ActorStopped``); otherwise it is kept
        for the next incarnation. ``hurry`` cancels at once.
        """
        task, self.task = self.task, None
        stopped = True
        if task is not None and not task.done():
            if self.sup is not None:
                self.sup.request_stop(final=final)
            else:
                self.cell.closing = final
                self.cell.request_stop()
            timeout = 0 if hurry else self.spec.shutdown
            done, _ = await asyncio.wait({task}, timeout=timeout)
            if not done:
                if not hurry:
                    log.warning("shutdown_timeout", actor=self.path, seconds=self.spec.shutdown)
                stopped = await self.kill(task)
        if final:
            self.finish(Status.STOPPED if stopped else Status.FAILED)
        elif not stopped:
            self.set_status(Status.FAILED)

    async def kill(self, task: asyncio.Task[object]) -> bool:
        """Cancel ``task`` and wait a little; False (logged) if it would not end."""
        task.cancel()
        # The cancelled incarnation first reaps its own tasks, for up to its shutdown time.
        grace = KILL_GRACE + (self.spec.shutdown or 0.0)
        done, _ = await asyncio.wait({task}, timeout=grace)
        if done:
            exit_of(task)  # retrieve the outcome so asyncio does not log it as lost
            return True
        log.error("unkillable_task", actor=self.path)
        if self.sup is None:
            self.cell.last_error = "unkillable: ignored cancellation"
        return False

    def finish(self, status: Status = Status.STOPPED) -> None:
        """This child will not run again (until its supervisor restarts): close its mailbox."""
        if self.sup is None:
            self.cell.close()
            self.cell.status = status
        elif status is Status.FAILED:
            self.sup.set_status(status)

    @property
    def path(self) -> str:
        return self.sup.path if self.sup is not None else self.cell.path
