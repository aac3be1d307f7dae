"""The runtime of one supervised actor: its mailbox, ref and stats, and each incarnation's loop."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import structlog

from supervision.errors import ActorCrashed, ActorStopped, InjectedCrash, NoHandler, NormalExit
from supervision.mailbox import Control, Envelope, Item, Mailbox, Reply
from supervision.ref import ActorRef
from supervision.specs import NORMAL_EXIT, Exit, ExitKind
from supervision.stats import ActorStats, Status, short_error, utc_now_iso

if TYPE_CHECKING:
    from supervision.actor import Actor, Handlers

log = structlog.get_logger(__name__)

PING = Control("ping")
STOP = Control("stop")
CRASH = Control("crash")  # fault injection only: Supervisor.inject_crash
_REAP_GRACE = 5.0


class ActorCell:
    """One actor slot of a supervisor; outlives incarnations so refs and mailboxes do too."""

    def __init__(self, path: str, mailbox_size: int, shutdown: float | None) -> None:
        self.path = path
        self.mailbox = Mailbox(mailbox_size)
        self.ref = ActorRef(self)
        self.shutdown = shutdown
        self.status = Status.STOPPED
        self.restarts = 0
        self.last_error: str | None = None
        self.last_restart_at: str | None = None
        self.processed = 0
        self.closing = False  # the stop under way is final: the in-flight ask gets ActorStopped
        self.kill_cause: BaseException | None = None  # why the supervisor cancels this incarnation
        self.actor: Actor | None = None
        self._main: asyncio.Task[Exit] | None = None
        self._current: Item | None = None
        self._drained: list[Item] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reaping = False  # the incarnation is ending: nothing new may start
        self._spawn_error: BaseException | None = None
        self._closed_reason = "has stopped"

    def stats(self) -> ActorStats:
        return ActorStats(
            name=self.path,
            status=self.status.value,
            restarts=self.restarts,
            last_error=self.last_error,
            last_restart_at=self.last_restart_at,
            mailbox_depth=len(self.mailbox),
            processed=self.processed,
        )

    def note_restart(self) -> None:
        self.restarts += 1
        self.last_restart_at = utc_now_iso()

    def note_error(self, error: BaseException | None) -> None:
        self.last_error = short_error(error)

    def stopped_error(self) -> ActorStopped:
        return ActorStopped(f"actor {self.path} {self._closed_reason}", actor=self.path)

    def close(self, reason: str = "has stopped") -> None:
        """Final stop: refuse messages; queued asks and blocked senders get ``ActorStopped``."""
        self._closed_reason = reason
        dropped = self.mailbox.close(self.stopped_error)
        if dropped:
            log.warning("queued_tells_dropped", actor=self.path, count=dropped)

    def reopen(self) -> None:
        self.mailbox.reopen()

    def is_current(self, actor: Actor) -> bool:
        main = self._main
        return self.actor is actor and main is not None and not main.done()

    # -- incarnations ---------------------------------------------------------------------

    def launch(self, actor: Actor, *, restart: bool) -> tuple[asyncio.Task[Exit], Reply]:
        """Start an incarnation; ``ready`` resolves once ``started()`` returned.

        If the task ends before ``ready`` resolves, the start failed (see the task's result).
        """
        loop = asyncio.get_running_loop()
        self.mailbox.remove_control()
        self.closing = False
        self.kill_cause = None
        self._spawn_error = None
        self._tasks = set()
        self._reaping = False
        self._drained.clear()
        self._current = None
        self.status = Status.RESTARTING if restart else Status.STARTING
        actor.attach_cell(self)
        self.actor = actor
        ready: Reply = loop.create_future()
        self._main = loop.create_task(self._run(actor, ready), name=f"actor:{self.path}")
        return self._main, ready

    def request_stop(self) -> None:
        """Ask the incarnation to stop cleanly after its current message."""
        self.mailbox.put_front((STOP, None))

    def inject_crash(self) -> None:
        """Crash the incarnation before its next message, as a bug in a handler would."""
        self.mailbox.put_front((CRASH, None))

    def ping(self) -> Reply:
        """A liveness probe ahead of all queued messages; resolves when the loop reaches it."""
        reply: Reply = asyncio.get_running_loop().create_future()
        self.mailbox.put_front((PING, reply))
        return reply

    async def _run(self, actor: Actor, ready: Reply) -> Exit:
        try:
            return await self._lifecycle(actor, ready)
        finally:
            await self._reap()

    async def _lifecycle(self, actor: Actor, ready: Reply) -> Exit:
        try:
            handlers = actor.bind_handlers()
            await actor.started()
            ready.set_result(None)
            self.status = Status.RUNNING
            await self._serve(handlers)
        except asyncio.CancelledError:
            self._fail_inflight(self._spawn_error or self.kill_cause)
            if self._spawn_error is not None:
                return Exit(ExitKind.CRASHED, self._spawn_error)
            raise
        except NormalExit:
            self._fail_inflight(None, stopped=True)
        except Exception as error:
            self._fail_inflight(error)
            return Exit(ExitKind.CRASHED, error)
        if ready.done():
            try:
                await actor.stopping()
            except Exception as error:
                log.warning("stopping_hook_failed", actor=self.path, error=short_error(error))
        return NORMAL_EXIT

    async def _serve(self, handlers: Handlers) -> None:
        mailbox = self.mailbox
        poll = mailbox.poll
        lookup = handlers.get
        drained = self._drained
        while True:
            item = poll()
            if item is None:
                await mailbox.waiter()
                continue
            message, reply = item
            entry = lookup(message.__class__)
            if entry is None:
                entry = self._resolve(handlers, message)
                if entry is None:
                    if message is STOP:
                        return
                    self._unhandled(message, reply)
                    continue
            handler, is_async = entry
            self._current = item
            try:
                result = handler(message)
                if is_async:
                    result = await result
            except NormalExit:
                raise
            except Exception as error:
                if reply is None:
                    raise
                if not reply.done():
                    reply.set_exception(error)
                if drained:
                    self._settle_drained(error)
            else:
                if reply is not None and not reply.done():
                    reply.set_result(result)
                if drained:
                    self._settle_drained(None)
            self._current = None
            self.processed += 1

    def _resolve(
        self, handlers: Handlers, message: Any
    ) -> tuple[Callable[[Any], Any], bool] | None:
        cls = message.__class__
        if issubclass(cls, Control):
            return None
        for base in cls.__mro__[1:]:
            entry = handlers.get(base)
            if entry is not None:
                handlers[cls] = entry
                return entry
        return None

    def _unhandled(self, message: Any, reply: Reply | None) -> None:
        if message is CRASH:
            raise InjectedCrash(f"fault injected into {self.path}")
        if message is PING:
            if reply is not None and not reply.done():
                reply.set_result(None)
            return
        if isinstance(message, Control):
            return
        self.processed += 1
        name = type(message).__name__
        if reply is None:
            log.warning("unhandled_tell_dropped", actor=self.path, message_type=name)
        elif not reply.done():
            reply.set_exception(
                NoHandler(f"actor {self.path} has no handler for {name}", actor=self.path)
            )

    def _settle_drained(self, error: BaseException | None) -> None:
        for message, reply in self._drained:
            if reply is not None and not reply.done():
                if error is None:
                    reply.set_exception(
                        RuntimeError(
                            f"actor {self.path} drained {type(message).__name__} "
                            "but did not answer it"
                        )
                    )
                else:
                    reply.set_exception(error)
        self._drained.clear()

    def _fail_inflight(self, cause: BaseException | None, *, stopped: bool = False) -> None:
        item, self._current = self._current, None
        pending = [item] if item is not None else []
        pending.extend(self._drained)
        self._drained.clear()
        for message, reply in pending:
            if reply is None or reply.done():
                continue
            what = type(message).__name__
            if stopped or self.closing:
                error: Exception = ActorStopped(
                    f"actor {self.path} stopped while handling {what}", actor=self.path
                )
            else:
                detail = f" ({short_error(cause)})" if cause is not None else ""
                error = ActorCrashed(
                    f"actor {self.path} crashed while handling {what}{detail}", actor=self.path
                )
            reply.set_exception(error)

    # -- tasks owned by the incarnation ---------------------------------------------------

    def spawn(
        self, actor: Actor, coro: Coroutine[Any, Any, Any], name: str | None
    ) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.path}:{name or 'task'}")
        if self._reaping:
            task.cancel()  # spawned while its incarnation ends (from a finally): never runs
        self._tasks.add(task)
        task.add_done_callback(functools.partial(self._spawned_done, self._main))
        return task

    def _spawned_done(self, main: asyncio.Task[Exit] | None, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is None or main is None or main is not self._main or main.done():
            return
        if isinstance(error, NormalExit):
            self.request_stop()
        elif self._spawn_error is None:
            self._spawn_error = error
            main.cancel()

    async def _reap(self) -> None:
        self._reaping = True
        tasks = self._tasks
        if not tasks:
            return
        for task in tasks:
            task.cancel()
        await asyncio.wait(set(tasks), timeout=self.shutdown or _REAP_GRACE)

    def drain(self, actor: Actor, predicate: Callable[[Any], bool], limit: int) -> list[Envelope]:
        if self._current is None:
            raise RuntimeError("drain() is for use inside a message handler")
        if limit <= 0:
            return []
        items = self.mailbox.drain(predicate, limit)
        self.processed += len(items)
        self._drained.extend(item for item in items if item[1] is not None)
        return [Envelope(message, reply) for message, reply in items]
