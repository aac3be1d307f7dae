"""The queue actor: per-plugin lanes in arrival order, a concurrency limit, deadlines, cancel.

Each running operation is a task owned by the actor; the executor does the work and
reports its stage. Every status change is journaled before it is announced, so after a
crash the operations the process died under are found and marked ``interrupted``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import structlog

from actors.errors import ErrorCode, PlugvisorError
from actors.events import EventBus
from actors.timeutil import now_iso
from supervision import Actor, handles

from .executor import Executor
from .journal import Journal
from .messages import ActiveLanes, CancelOperation, Enqueue, GetOperation, ListOperations
from .records import OPERATION_TYPES, Operation

log = structlog.get_logger(__name__)

HistorySink = Callable[[Operation], None]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class QueueSettings:
    concurrency: int = 1
    deadline_s: float = 600.0
    retention: int = 1000


class OperationQueue(Actor):
    def __init__(
        self,
        journal: Journal,
        executor: Executor,
        bus: EventBus,
        *,
        settings: QueueSettings = QueueSettings(),
        record_history: HistorySink | None = None,
    ) -> None:
        super().__init__()
        self._journal = journal
        self._executor = executor
        self._bus = bus
        self._settings = settings
        self._record_history = record_history
        self._operations: dict[str, Operation] = {}  # every known operation, oldest first
        self._pending: list[str] = []  # arrival order
        self._running: dict[str, asyncio.Task[None]] = {}
        self._cancel_requested: set[str] = set()
        self._private: dict[str, dict[str, Any]] = {}
        # One thread for all journal I/O, so appends land in the order they were made.
        self._journal_thread = ThreadPoolExecutor(1, thread_name_prefix="journal")

    def _io(self, function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        return asyncio.get_running_loop().run_in_executor(self._journal_thread, function, *args)

    # --- lifecycle -------------------------------------------------------------------

    async def started(self) -> None:
        await self._executor.recover()
        operations = await self._io(self._journal.replay)
        interrupted = []
        for op in operations:
            if op.active:
                op.status = "interrupted"
                op.message = "The supervisor stopped while this operation was " + (
                    "running" if op.started_at else "waiting"
                )
                op.error = {
                    "error_code": ErrorCode.SYSTEM_ERROR.value,
                    "message": "Interrupted by a restart; its partial work was cleaned up",
                }
                op.completed_at = now_iso()
                interrupted.append(op)
            self._operations[op.operation_id] = op
        if interrupted:
            await self._io(self._journal.append, interrupted)
            for op in interrupted:
                log.warning("operation_interrupted", operation_id=op.operation_id)
                self._announce(op)
                self._to_history(op)
        if self._journal.needs_compaction(0) or len(self._operations) > self._settings.retention:
            kept = await self._io(self._journal.compact, list(self._operations.values()))
            self._operations = {op.operation_id: op for op in kept}

    async def stopping(self) -> None:
        # Running work is cancelled with the actor; the journal still says "running", so
        # the next start marks it interrupted and the installer's recovery cleans it up.
        for task in self._running.values():
            task.cancel()
        self._journal_thread.shutdown(wait=False)

    # --- handlers --------------------------------------------------------------------

    @handles(Enqueue)
    async def enqueue(self, msg: Enqueue) -> dict[str, Any]:
        if msg.operation_type not in OPERATION_TYPES:
            raise PlugvisorError(
                ErrorCode.INVALID_INPUT, f"Unknown operation type '{msg.operation_type}'"
            )
        op = Operation(
            operation_type=msg.operation_type,
            plugin_id=msg.plugin_id,
            parameters=dict(msg.parameters),
            lane=msg.lane or msg.plugin_id or "",
            user=msg.user,
        )
        existing = self._find_duplicate(op)
        if existing is not None:
            return self._receipt(existing, deduplicated=True)
        await self._io(self._journal.append, [op])
        self._operations[op.operation_id] = op
        self._pending.append(op.operation_id)
        if msg.private:
            self._private[op.operation_id] = dict(msg.private)
        log.info(
            "operation_queued",
            operation_id=op.operation_id,
            operation_type=op.operation_type,
            plugin_id=op.plugin_id,
        )
        self._announce(op)
        receipt = self._receipt(op, deduplicated=False)  # as queued, before it may start
        self._schedule()
        return receipt

    @handles(GetOperation)
    def get_operation(self, msg: GetOperation) -> dict[str, Any]:
        return self._lookup(msg.operation_id).to_dict(self._position(msg.operation_id))

    @handles(ListOperations)
    def list_operations(self, msg: ListOperations) -> list[dict[str, Any]]:
        running = [self._operations[op_id] for op_id in self._running]
        pending = [self._operations[op_id] for op_id in self._pending]
        return [op.to_dict(self._position(op.operation_id)) for op in running + pending]

    @handles(ActiveLanes)
    def active_lanes(self, msg: ActiveLanes) -> dict[str, str]:
        lanes: dict[str, str] = {}
        for op_id in [*self._running, *self._pending]:
            op = self._operations[op_id]
            if op.plugin_id is not None:
                lanes.setdefault(op.plugin_id, op_id)
        return lanes

    @handles(CancelOperation)
    async def cancel(self, msg: CancelOperation) -> dict[str, Any]:
        op = self._lookup(msg.operation_id)
        if not op.active:
            raise PlugvisorError(
                ErrorCode.PLUGIN_OPERATION_CONFLICT,
                f"Operation {op.operation_id} has already finished ({op.status})",
                context={"operation_id": op.operation_id, "status": op.status},
            )
        if op.status == "pending":
            self._pending.remove(op.operation_id)
            self._private.pop(op.operation_id, None)
            await self._finish(op, "cancelled", "Cancelled before it started")
            self._schedule()
        else:
            self._cancel_requested.add(op.operation_id)
            op.message = "Cancelling"
            self._announce(op)
            self._running[op.operation_id].cancel()
        return op.to_dict(self._position(op.operation_id))

    # --- scheduling ------------------------------------------------------------------

    def _schedule(self) -> None:
        """Start every pending operation whose lane is free, up to the concurrency limit.

        An operation whose plugin id is not known yet (install from a URL or an archive)
        runs alone, since it may land on any plugin's directory.
        """
        busy_lanes = {self._operations[op_id].lane for op_id in self._running}
        exclusive_running = any(
            self._operations[op_id].plugin_id is None for op_id in self._running
        )
        for op_id in list(self._pending):
            if exclusive_running or len(self._running) >= self._settings.concurrency:
                return
            op = self._operations[op_id]
            exclusive = op.plugin_id is None
            if op.lane in busy_lanes or (exclusive and self._running):
                busy_lanes.add(op.lane)  # later operations of this lane keep their order
                if exclusive:
                    return  # nothing may overtake an operation that needs to run alone
                continue
            self._pending.remove(op_id)
            busy_lanes.add(op.lane)
            exclusive_running = exclusive
            self._running[op_id] = self.spawn(self._run(op), name=f"operation-{op_id}")

    async def _run(self, op: Operation) -> None:
        op.status = "running"
        op.started_at = now_iso()
        op.message = "Started"
        bound = log.bind(operation_id=op.operation_id, plugin_id=op.plugin_id)
        private = self._private.pop(op.operation_id, {})
        try:
            try:
                await self._io(self._journal.append, [op])
                self._announce(op)
                async with asyncio.timeout(self._settings.deadline_s):
                    commit = await self._executor.prepare(op, self._reporter(op), private)
            except asyncio.CancelledError:
                if op.operation_id not in self._cancel_requested:
                    raise  # the actor is stopping: the journal keeps "running" for recovery
                asyncio.current_task().uncancel()  # type: ignore[union-attr]
                await self._finish(op, "cancelled", "Cancelled; its work was rolled back")
                return
            except TimeoutError:
                await self._finish(
                    op,
                    "timed_out",
                    f"Did not finish within {self._settings.deadline_s:g} s; its work was undone",
                    error={
                        "error_code": ErrorCode.TIMEOUT.value,
                        "message": "Operation deadline exceeded",
                    },
                )
                return
            except PlugvisorError as exc:
                bound.warning("operation_failed", error_code=exc.code.value, error=exc.message)
                await self._finish(
                    op,
                    "failed",
                    exc.message,
                    error={"error_code": exc.code.value, "message": exc.message},
                )
                return
            except Exception:
                bound.exception("operation_crashed")
                await self._finish(
                    op,
                    "failed",
                    "An unexpected error occurred",
                    error={
                        "error_code": ErrorCode.UNKNOWN_ERROR.value,
                        "message": "An unexpected error occurred",
                    },
                )
                return
            # Past the commit point the work has landed: a cancel can no longer undo it.
            result = await asyncio.shield(commit())
            op.result = result
            await self._finish(op, "completed", result.get("message", "Completed"), progress=1.0)
        finally:
            self._running.pop(op.operation_id, None)
            self._cancel_requested.discard(op.operation_id)
            self._schedule()

    def _reporter(self, op: Operation) -> Callable[[str, float, str], None]:
        def report(stage: str, progress: float, message: str) -> None:
            if not op.active:
                return
            op.stage = stage
            op.progress = max(op.progress, min(1.0, progress))  # never goes backwards
            op.message = message
            self._announce(op)

        return report

    async def _finish(
        self,
        op: Operation,
        status: str,
        message: str,
        *,
        error: dict[str, str] | None = None,
        progress: float | None = None,
    ) -> None:
        final = replace(
            op,
            status=status,
            message=message,
            error=error,
            completed_at=now_iso(),
            progress=op.progress if progress is None else progress,
            stage="done" if status == "completed" else op.stage,
        )
        await self._io(self._journal.append, [final])  # durable before anyone sees it ended
        for name in ("status", "message", "error", "completed_at", "progress", "stage"):
            setattr(op, name, getattr(final, name))
        self._running.pop(op.operation_id, None)
        log.info("operation_finished", operation_id=op.operation_id, status=status)
        self._announce(op)
        self._to_history(op)
        await self._maybe_compact()

    async def _maybe_compact(self) -> None:
        live = len(self._running) + len(self._pending)
        finished = len(self._operations) - live
        # A quarter of slack, so the journal is rewritten once per many operations, not each.
        slack = self._settings.retention + max(1, self._settings.retention // 4)
        if finished > slack or self._journal.needs_compaction(live):
            kept = await self._io(self._journal.compact, list(self._operations.values()))
            self._operations = {op.operation_id: op for op in kept}

    # --- helpers ---------------------------------------------------------------------

    def _find_duplicate(self, op: Operation) -> Operation | None:
        key = op.dedupe_key()
        for op_id in [*self._running, *self._pending]:
            if op_id in self._cancel_requested:
                continue  # being cancelled: a new request is a new operation
            candidate = self._operations[op_id]
            if candidate.dedupe_key() == key:
                return candidate
        return None

    def _lookup(self, operation_id: str) -> Operation:
        op = self._operations.get(operation_id)
        if op is None:
            raise PlugvisorError(
                ErrorCode.OPERATION_NOT_FOUND,
                f"Operation '{operation_id[:64]}' not found",
                context={"operation_id": operation_id[:64]},
            )
        return op

    def _position(self, operation_id: str) -> int | None:
        try:
            return self._pending.index(operation_id)
        except ValueError:
            return None

    def _receipt(self, op: Operation, *, deduplicated: bool) -> dict[str, Any]:
        return {
            "operation_id": op.operation_id,
            "status": op.status,
            "position": self._position(op.operation_id),
            "deduplicated": deduplicated,
        }

    def _announce(self, op: Operation) -> None:
        self._bus.publish("operation", op.to_dict(self._position(op.operation_id)))

    def _to_history(self, op: Operation) -> None:
        if self._record_history is not None:
            self._record_history(op)
