"""``Supervisor``: starts children in order, restarts them by strategy, escalates past its limit."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import structlog

from supervision.actor import Actor
from supervision.cell import ActorCell
from supervision.child import Child, exit_of
from supervision.errors import StartError
from supervision.intensity import RestartIntensity
from supervision.liveness import ping_loop
from supervision.ref import ActorRef
from supervision.restarts import RETRY, Restarter, RestartHost
from supervision.specs import ChildSpec, Strategy, SupervisorExit
from supervision.stats import ActorStats, Status, short_error

log = structlog.get_logger(__name__)


class _State(StrEnum):
    IDLE = "idle"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class _Exited:
    child: Child
    task: asyncio.Task[object]


@dataclass(frozen=True, slots=True)
class _Wedged:
    child: Child
    task: asyncio.Task[object]


@dataclass(frozen=True, slots=True)
class _Stop:
    final: bool


class Supervisor:
    """A node of the supervision tree, after OTP's supervisor.

    ``children`` start in order and stop in reverse. ``strategy`` picks who restarts with a
    crashed child. More than ``max_restarts`` restart attempts within ``period`` seconds
    (counted across all children) make it stop every child and end with
    ``SupervisorExit(failed=True)``: a parent restarts it like a crashed child, a root's
    ``wait_exit()`` returns it. Before each attempt it waits ``backoff_initial`` seconds,
    doubled for each restart of that child still in the window, at most ``backoff_max``.
    Every ``ping_interval`` seconds (None: never) each running actor child must answer a
    ping within ``ping_timeout`` or it is killed as wedged and restarted.
    A factory may return a nested ``Supervisor``; return the same instance every time
    (``lambda: nested``) so that refs taken from ``nested.ref(...)`` stay valid.
    """

    def __init__(
        self,
        name: str,
        children: Iterable[ChildSpec],
        *,
        strategy: Strategy = Strategy.ONE_FOR_ONE,
        max_restarts: int = 3,
        period: float = 60.0,
        backoff_initial: float = 0.1,
        backoff_max: float = 10.0,
        ping_interval: float | None = 10.0,
        ping_timeout: float = 10.0,
    ) -> None:
        if not name or "/" in name:
            raise ValueError(f"supervisor name must be non-empty and without '/': {name!r}")
        specs = tuple(children)
        ids = [spec.id for spec in specs]
        if len(set(ids)) != len(ids):
            raise ValueError(f"supervisor {name}: child ids must be unique: {ids}")
        if ping_interval is not None and (ping_interval <= 0 or ping_timeout <= 0):
            raise ValueError("ping_interval and ping_timeout must be > 0 (or ping_interval None)")
        self.name = name
        self.path = name
        self.strategy = Strategy(strategy)
        self._specs = specs
        self._cells = {s.id: ActorCell(f"{name}/{s.id}", s.mailbox_size, s.shutdown) for s in specs}
        self._children = self._fresh_children()
        host = RestartHost(
            path=lambda: self.path,
            strategy=lambda: self.strategy,
            children=lambda: self._children,
            discard=lambda child: self._children.remove(child),
            start=lambda child: self._start_child(child, restart=True),
            post=self._post,
        )
        self._restarts = Restarter(
            host, RestartIntensity(max_restarts, period, backoff_initial, backoff_max)
        )
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._inbox: asyncio.Queue[object] | None = None
        self._task: asyncio.Task[SupervisorExit] | None = None
        self._pinger: asyncio.Task[None] | None = None
        self._exit: asyncio.Future[SupervisorExit] | None = None
        self._state = _State.IDLE

    # -- public API ----------------------------------------------------------------------

    @property
    def child_ids(self) -> tuple[str, ...]:
        return tuple(spec.id for spec in self._specs)

    def inject_crash(self, child_id: str) -> bool:
        """Crash actor child ``child_id`` before its next message; False unless it runs.

        For fault injection only (supervision/faults.py, armed by the environment at start);
        a wall test keeps web/ and actors/ from calling it.
        """
        cell = self._cells.get(child_id)
        if cell is None:
            raise KeyError(f"supervisor {self.path} has no child {child_id!r}")
        if cell.status is not Status.RUNNING:
            return False
        cell.inject_crash()
        return True

    def ref(self, child_id: str) -> ActorRef:
        """The ref of actor child ``child_id``; valid from construction on, across restarts."""
        cell = self._cells.get(child_id)
        if cell is None:
            raise KeyError(f"supervisor {self.path} has no child {child_id!r}")
        return cell.ref

    @property
    def healthy(self) -> bool:
        """Running, not given up, and every permanent child running (nested: healthy)."""
        if self._state is not _State.RUNNING:
            return False
        for child in self._children:
            if not child.permanent:
                continue
            if child.sup is not None:
                if not child.running or not child.sup.healthy:
                    return False
            elif child.cell.status is not Status.RUNNING:
                return False
        return True

    def stats(self) -> list[ActorStats]:
        """Every actor of the subtree in start order, named by path (``root/plugins/x``)."""
        out: list[ActorStats] = []
        for child in self._children:
            if child.sup is not None:
                out.extend(child.sup.stats())
            else:
                out.append(child.cell.stats())
        return out

    async def start(self) -> None:
        """Start the children in order; on a failure stop those started (reverse) and raise
        ``StartError``."""
        await self._start(restart=False)

    async def stop(self) -> SupervisorExit:
        """Stop the children in reverse start order (each within its ``shutdown``) and return
        how the supervisor ended."""
        task = self._task
        if self._state is _State.STARTING:
            raise RuntimeError(f"supervisor {self.path} is starting: cancel start() instead")
        if task is None:
            if self._exit is not None and self._exit.done():
                return self._exit.result()
            for child in reversed(self._children):
                child.finish()
            self._state = _State.STOPPED
            return self._set_exit(SupervisorExit(failed=False, reason="stopped before start"))
        if not task.done():
            self.request_stop(final=True)
        await asyncio.wait({task})
        assert self._exit is not None
        return self._exit.result()

    async def wait_exit(self) -> SupervisorExit:
        """Wait until this supervisor ends; ``failed`` is True when it gave up."""
        if self._exit is None:
            self._exit = asyncio.get_running_loop().create_future()
        return await asyncio.shield(self._exit)

    def __repr__(self) -> str:
        return f"<Supervisor {self.path} {self._state.value}>"

    # -- as a nested child (what the parent's child slot calls) --------------------------

    def attach(self, path: str) -> None:
        """Become a nested supervisor named ``path`` in the tree (renames cells and logs)."""
        self.path = path
        for spec_id, cell in self._cells.items():
            cell.path = f"{path}/{spec_id}"
        for child in self._children:
            if child.sup is not None:
                child.sup.attach(f"{path}/{child.id}")

    async def start_nested(self, *, restart: bool) -> asyncio.Task[SupervisorExit]:
        """Start under a parent (``restart``: a new incarnation); return the control task the
        parent watches, whose result is how this supervisor ended."""
        await self._start(restart=restart)
        assert self._task is not None
        return self._task

    def request_stop(self, *, final: bool) -> None:
        """Ask the control loop to stop the children and end, without waiting; ``final=False``
        keeps their mailboxes for the parent's restart."""
        self._post(_Stop(final))

    def set_status(self, status: Status) -> None:
        """Show ``status`` on every actor of the subtree (the parent restarts or failed it)."""
        for child in self._children:
            child.set_status(status)

    # -- start ---------------------------------------------------------------------------

    async def _start(self, *, restart: bool) -> None:
        if self._state in (_State.STARTING, _State.RUNNING, _State.STOPPING):
            raise RuntimeError(f"supervisor {self.path} is already running")
        loop = asyncio.get_running_loop()
        self._state = _State.STARTING
        self._task = None
        self._restarts.reset()
        self._inbox = asyncio.Queue()
        if self._exit is None or self._exit.done():
            self._exit = loop.create_future()
        self._children = self._fresh_children()
        for cell in self._cells.values():
            cell.reopen()
        started: list[Child] = []
        for child in self._children:
            try:
                await self._start_child(child, restart=restart)
            except BaseException as error:
                await self._abort_start(child, started, error)
                if isinstance(error, Exception):
                    raise StartError(
                        f"supervisor {self.path}: child {child.id} failed to start: "
                        f"{short_error(error)}",
                        actor=child.path,
                    ) from error
                raise
            started.append(child)
        self._state = _State.RUNNING
        self._task = loop.create_task(self._control(), name=f"supervisor:{self.path}")
        if self._ping_interval is not None:
            self._pinger = loop.create_task(
                ping_loop(
                    lambda: self._children, self._ping_interval, self._ping_timeout, self._wedged
                ),
                name=f"liveness:{self.path}",
            )
        log.info("supervisor_started", supervisor=self.path, children=len(self._children))

    async def _abort_start(self, failed: Child, started: list[Child], error: BaseException) -> None:
        log.error(
            "child_start_failed", supervisor=self.path, actor=failed.path, error=short_error(error)
        )
        if failed.sup is None:
            failed.cell.note_error(error)
        hurry = not isinstance(error, Exception)
        for other in reversed(started):
            await other.stop(final=True, hurry=hurry)
        for child in self._children:
            if child is failed:
                child.finish(Status.FAILED)
            elif child not in started:
                child.finish()
        self._state = _State.FAILED
        self._set_exit(SupervisorExit(failed=True, reason=f"child {failed.id} failed to start"))

    async def _start_child(self, child: Child, *, restart: bool) -> None:
        try:
            product = child.spec.factory()
        except BaseException:
            if restart and child.sup is None:
                child.cell.note_restart()
            raise
        if isinstance(product, Actor):
            if restart:
                child.cell.note_restart()
            await child.start_actor(product, restart=restart)
        elif isinstance(product, Supervisor):
            await child.start_supervisor(product, f"{self.path}/{child.id}", restart=restart)
        else:
            raise TypeError(
                f"factory of {child.id} returned {type(product).__name__}, "
                "expected an Actor or a Supervisor"
            )

    # -- the control loop ----------------------------------------------------------------

    async def _control(self) -> SupervisorExit:
        assert self._inbox is not None
        final = True
        try:
            while self._restarts.gave_up is None:
                event = await self._inbox.get()
                if isinstance(event, _Stop):
                    final = event.final
                    break
                await self._handle(event)
        except asyncio.CancelledError:
            await self._shutdown(final=True, hurry=True)
            raise
        except Exception as error:  # a bug here must still stop the children
            log.exception("supervisor_failed", supervisor=self.path)
            self._restarts.gave_up = f"supervisor error: {short_error(error)}"
        return await self._shutdown(final=final, hurry=False)

    async def _handle(self, event: object) -> None:
        if isinstance(event, _Exited):
            child = event.child
            outcome = exit_of(event.task)
            if child.task is event.task:
                child.task = None
                await self._restarts.on_exit(child, outcome)
        elif isinstance(event, _Wedged):
            await self._restarts.on_wedged(event.child, event.task, self._ping_timeout)
        elif event is RETRY:
            await self._restarts.retry()

    async def _shutdown(self, *, final: bool, hurry: bool) -> SupervisorExit:
        self._state = _State.STOPPING
        self._restarts.cancel_timers()
        pinger, self._pinger = self._pinger, None
        if pinger is not None:
            pinger.cancel()
            await asyncio.wait({pinger})
        for child in reversed(self._children):
            await child.stop(final=final, hurry=hurry)
        self._restarts.pending.clear()
        if self._restarts.culprit is not None:
            self._restarts.culprit.finish(Status.FAILED)
        if hurry:
            result = SupervisorExit(failed=True, reason="cancelled")
        elif self._restarts.gave_up is not None:
            result = SupervisorExit(failed=True, reason=self._restarts.gave_up)
        else:
            result = SupervisorExit(failed=False, reason="stopped")
        self._state = _State.FAILED if result.failed else _State.STOPPED
        log.info(
            "supervisor_stopped", supervisor=self.path, failed=result.failed, reason=result.reason
        )
        return self._set_exit(result)

    # -- plumbing ------------------------------------------------------------------------

    def _fresh_children(self) -> list[Child]:
        return [Child(spec, self._cells[spec.id], self._child_exited) for spec in self._specs]

    def _child_exited(self, child: Child, task: asyncio.Task[object]) -> None:
        self._post(_Exited(child, task))

    def _wedged(self, child: Child, task: asyncio.Task[object]) -> None:
        self._post(_Wedged(child, task))

    def _post(self, event: object) -> None:
        if self._inbox is not None:
            self._inbox.put_nowait(event)

    def _set_exit(self, result: SupervisorExit) -> SupervisorExit:
        if self._exit is None:
            self._exit = asyncio.get_running_loop().create_future()
        if not self._exit.done():
            self._exit.set_result(result)
        return result
