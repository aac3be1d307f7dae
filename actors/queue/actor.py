"""The queue actor: per-plugin lanes in arrival order, a concurrency limit, deadlines, cancel.

Each running operation is a :class:`Run` in a task owned by the actor. Every status change
is journaled before it is announced, so after a crash the operations the process died
under are found and settled: finished if their files had landed, else ``interrupted``.
A journal that cannot be written (a full disk) refuses new operations with a clear error
and is reported in the health reasons; operations already running still end, in memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import structlog

from actors.errors import ErrorCode, PlugvisorError
from actors.events import EventBus
from actors.fsio import storage_error
from actors.health_reasons import GetHealthReasons, HealthReason
from actors.timeutil import now_iso
from supervision import Actor, handles

from .executor import Executor
from .journal import Journal
from .messages import (
    ActiveLanes,
    CancelOperation,
    Enqueue,
    GetOperation,
    ListFinished,
    ListOperations,
)
from .records import OPERATION_TYPES, Operation
from .runner import Outcome, Run, commit_failed

log = structlog.get_logger(__name__)

# Records a finished operation in the history; True once it is durable there.
HistorySink = Callable[[Operation], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class QueueSettings:
    concurrency: int = 1
    deadline_s: float = 600.0
    retention: int = 1000  # finished operations kept answerable by id
    max_waiting: int = 100  # pending operations; more are refused (503)
    max_archives: int = 2  # uploaded archives held in memory while they wait or run


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
        self._runs: dict[str, Run] = {}
        self._private: dict[str, dict[str, Any]] = {}
        self._stopping = False
        self._journal_error: tuple[str, str] | None = None  # (message, since)

    # --- lifecycle -------------------------------------------------------------------

    async def started(self) -> None:
        """Settle what the last run left: each operation it died under ends, honestly.

        The installer's recovery first undoes every landing short of its commit point; then
        an operation that was running is rolled forward when its files had landed (it ends
        ``completed``) and otherwise reads ``interrupted``, as does every pending one.
        """
        await self._executor.recover()
        settled, unrecorded = [], []
        for op in await self._journal.replay():
            self._operations[op.operation_id] = op
            if op.active:
                settled.append(await self._settle(op))
            elif not op.recorded:  # it ended, but the history may not have it yet
                unrecorded.append(op)
        if settled:
            await self._write(settled)
            for op in settled:
                log.warning(
                    "operation_settled_at_start", operation_id=op.operation_id, status=op.status
                )
                self._announce(op)
        for op in [*unrecorded, *settled]:
            self._to_history(op)
        await self._maybe_compact()

    async def _settle(self, op: Operation) -> Operation:
        """End one operation the last run died under (see :meth:`started`).

        A refused config step (a full disk) ends it ``failed``, as the same refusal does
        without a crash. Anything else (a sibling not answering) propagates: this incarnation
        fails to start, and its restart settles again, since the journal still shows it active.
        """
        result = None
        if op.started_at is not None:
            try:
                result = await self._executor.settle(op)
            except PlugvisorError as exc:
                outcome = commit_failed(op.operation_id, exc.message)
                op.status, op.message, op.error = outcome.status, outcome.message, outcome.error
                op.completed_at = now_iso()
                return op
        op.completed_at = now_iso()
        if result is not None:
            op.status, op.stage, op.progress = "completed", "done", 1.0
            op.message = "Completed after a restart: " + str(result.get("message", ""))
            op.result, op.error = result, None
            op.plugin_id = op.plugin_id or result.get("plugin_id")
            return op
        op.status = "interrupted"
        op.message = "The supervisor stopped while this operation was " + (
            "running; its partial work was rolled back" if op.started_at else "waiting"
        )
        op.error = {
            "error_code": ErrorCode.SYSTEM_ERROR.value,
            "message": "Interrupted by a restart; nothing of it remains",
        }
        return op

    async def stopping(self) -> None:
        # Running work is cancelled with the actor; the journal still says "running", so
        # the next start settles it (see started()).
        self._stopping = True

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
        self._check_room(msg)
        try:
            await self._journal.append([op])
        except OSError as exc:
            self._note_journal_error(exc)
            raise storage_error(exc, ErrorCode.SYSTEM_ERROR, "queue the operation") from None
        self._journal_error = None
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
        active = [*self._runs, *self._pending]
        return [self._operations[op_id].to_dict(self._position(op_id)) for op_id in active]

    @handles(ListFinished)
    def list_finished(self, msg: ListFinished) -> list[dict[str, Any]]:
        return [op.to_dict() for op in self._operations.values() if op.status == msg.status]

    @handles(ActiveLanes)
    def active_lanes(self, msg: ActiveLanes) -> dict[str, str]:
        lanes: dict[str, str] = {}
        for op_id in [*self._runs, *self._pending]:
            op = self._operations[op_id]
            if op.plugin_id is not None:
                lanes.setdefault(op.plugin_id, op_id)
        return lanes

    @handles(CancelOperation)
    async def cancel(self, msg: CancelOperation) -> dict[str, Any]:
        op = self._lookup(msg.operation_id)
        if op.operation_id in self._pending:
            self._pending.remove(op.operation_id)
            self._private.pop(op.operation_id, None)
            await self._finish(op, Outcome("cancelled", "Cancelled before it started"))
            self._schedule()
        elif op.operation_id in self._runs:
            if self._runs[op.operation_id].cancel():
                op.message = "Cancelling"
                self._announce(op)
        else:
            raise PlugvisorError(
                ErrorCode.PLUGIN_OPERATION_CONFLICT,
                f"Operation {op.operation_id} has already finished ({op.status})",
                context={"operation_id": op.operation_id, "status": op.status},
            )
        return op.to_dict(self._position(op.operation_id))

    @handles(GetHealthReasons)
    def health_reasons(self, msg: GetHealthReasons) -> list[HealthReason]:
        if self._journal_error is None:
            return []
        detail, since = self._journal_error
        return [
            HealthReason(
                code="operation_journal_write_failed",
                message="Operations cannot be recorded on disk; new ones are refused",
                since=since,
                detail=detail,
                remediation="Free space on the device's data partition",
                severity="unhealthy",
            )
        ]

    # --- scheduling ------------------------------------------------------------------

    def _schedule(self) -> None:
        """Start every pending operation whose lane is free, up to the concurrency limit.

        An operation whose plugin id is not known yet (install from a URL or an archive)
        runs alone, since it may land on any plugin's directory.
        """
        if self._stopping:
            return
        busy_lanes = {run.op.lane for run in self._runs.values()}
        exclusive_running = any(run.exclusive for run in self._runs.values())
        for op_id in list(self._pending):
            if exclusive_running or len(self._runs) >= self._settings.concurrency:
                return
            op = self._operations[op_id]
            exclusive = op.plugin_id is None
            if op.lane in busy_lanes or (exclusive and self._runs):
                busy_lanes.add(op.lane)  # later operations of this lane keep their order
                if exclusive:
                    return  # nothing may overtake an operation that needs to run alone
                continue
            self._pending.remove(op_id)
            busy_lanes.add(op.lane)
            exclusive_running = exclusive
            op.status, op.started_at, op.message = "running", now_iso(), "Started"
            run = Run(
                op,
                self._executor,
                self._reporter(op),
                self._private.pop(op_id, {}),
                self._settings.deadline_s,
            )
            self._runs[op_id] = run
            self.spawn(self._run(run), name=f"operation-{op_id}")

    async def _run(self, run: Run) -> None:
        op = run.op
        try:
            await self._write([op])
            self._announce(op)
            outcome = await run.execute()
        except asyncio.CancelledError:
            self._stopping = True  # the actor is going: start nothing more
            if run.outcome_while_stopping is not None:  # done after all: say so on disk
                await self._write([self._final(op, run.outcome_while_stopping)])
            raise
        await self._finish(op, outcome)
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

    def _final(self, op: Operation, outcome: Outcome) -> Operation:
        learned = (outcome.result or {}).get("plugin_id")  # an install from a URL or archive
        return replace(
            op,
            plugin_id=op.plugin_id or (learned if isinstance(learned, str) else None),
            status=outcome.status,
            message=outcome.message,
            error=outcome.error,
            result=outcome.result,
            completed_at=now_iso(),
            progress=1.0 if outcome.status == "completed" else op.progress,
            stage="done" if outcome.status == "completed" else op.stage,
        )

    async def _finish(self, op: Operation, outcome: Outcome) -> None:
        final = self._final(op, outcome)
        await self._write([final])  # durable (when the disk allows) before anyone sees it
        fields = ("plugin_id", "status", "message", "error", "result", "completed_at", "progress")
        for name in (*fields, "stage"):
            setattr(op, name, getattr(final, name))
        self._runs.pop(op.operation_id, None)
        log.info("operation_finished", operation_id=op.operation_id, status=op.status)
        self._announce(op)
        self._to_history(op)
        await self._maybe_compact()

    async def _write(self, operations: list[Operation]) -> None:
        """Journal a status change; a failure is reported, never raised (the run goes on)."""
        try:
            await self._journal.append(operations)
        except OSError as exc:
            self._note_journal_error(exc)
        else:
            self._journal_error = None

    def _note_journal_error(self, exc: OSError) -> None:
        detail = storage_error(exc, ErrorCode.SYSTEM_ERROR, "write the operation journal").message
        since = self._journal_error[1] if self._journal_error else now_iso()
        self._journal_error = (detail, since)
        log.error("operation_journal_write_failed", error=detail)

    async def _maybe_compact(self) -> None:
        """Drop the oldest finished operations once there are a quarter more than kept."""
        done = [op for op in self._operations.values() if not op.active]
        done.sort(key=lambda op: op.completed_at or op.created_at)  # oldest endings go first
        finished = [op.operation_id for op in done]
        retention = self._settings.retention
        live = len(self._operations) - len(finished)
        too_many = len(finished) > retention + max(1, retention // 4)
        if not too_many and self._journal.lines <= 2 * (live + retention) + 100:
            return
        drop = set(finished[: max(0, len(finished) - retention)])
        try:
            await self._journal.compact(drop)
        except OSError as exc:
            self._note_journal_error(exc)
            return
        for op_id in drop:
            self._operations.pop(op_id, None)

    # --- helpers ---------------------------------------------------------------------

    def _check_room(self, msg: Enqueue) -> None:
        if len(self._pending) >= self._settings.max_waiting:
            raise PlugvisorError(
                ErrorCode.SERVICE_UNAVAILABLE,
                f"The operation queue is full ({self._settings.max_waiting} waiting)",
                suggested_fixes=["Wait for queued operations to finish, or cancel some"],
            )
        if msg.private and "archive" in msg.private:
            held = sum(1 for private in self._private.values() if "archive" in private)
            held += sum(1 for run in self._runs.values() if "archive" in run.private)
            if held >= self._settings.max_archives:
                raise PlugvisorError(
                    ErrorCode.SERVICE_UNAVAILABLE,
                    "Too many uploaded archives are waiting to be installed",
                    suggested_fixes=["Upload it again once the current installs finish"],
                )

    def _find_duplicate(self, op: Operation) -> Operation | None:
        """The newest active operation of ``op``'s lane, if ``op`` is identical to it.

        Only the newest: install, uninstall, install again are three operations, so the last
        word stands. One that is being cancelled is no longer a candidate.
        """
        newest = None
        for op_id in [*self._runs, *self._pending]:
            candidate = self._operations[op_id]
            if candidate.lane == op.lane:
                newest = candidate
        if newest is None or newest.dedupe_key() != op.dedupe_key():
            return None
        run = self._runs.get(newest.operation_id)
        if run is not None and run.cancel_requested:
            return None
        return newest

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
        """Record the finished ``op`` in the history, then note in the journal that it is there.

        At least once: an operation not noted as recorded is recorded again after a restart
        (the history keeps one record per operation and status).
        """
        if self._record_history is None:
            return
        snapshot = replace(op, parameters=dict(op.parameters))
        self.spawn(self._record(snapshot), name=f"history-{op.operation_id}")

    async def _record(self, op: Operation) -> None:
        assert self._record_history is not None
        if await self._record_history(op):
            current = self._operations.get(op.operation_id)
            if current is not None:
                current.recorded = True
                await self._write([current])
