"""One running operation: its cancellable preparation, then its commit, ending in an outcome.

The preparation (download, verify, land the files) runs in a task of its own, so a user's
cancel or the deadline reaches it alone; the commit that follows (config, state) always
runs to its end, and whatever happens the run ends with an :class:`Outcome`, never an
exception, except when the queue itself is stopping.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import structlog

from actors.errors import ErrorCode, PlugvisorError

from .executor import Commit, Executor, Report
from .records import Operation

log = structlog.get_logger(__name__)

STOP_GRACE_S = 10.0  # how long a stopping queue waits for a preparation to roll back


class DeadlineExceeded(Exception):
    """The operation ran past its deadline (not a timeout of one of its own steps)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # completed, failed, cancelled, timed_out
    message: str
    error: dict[str, str] | None = None
    result: dict[str, Any] | None = None


def _error(code: ErrorCode, message: str) -> dict[str, str]:
    return {"error_code": code.value, "message": message}


@dataclass(slots=True)
class Run:
    op: Operation
    executor: Executor
    report: Report
    private: dict[str, Any]
    deadline_s: float
    phase: str = "starting"  # starting, preparing, committing, done
    cancel_requested: bool = False
    # Fixed when the run starts: an install whose plugin id comes from its manifest.
    exclusive: bool = False
    # How a run ended that finished its commit while the queue was stopping.
    outcome_while_stopping: Outcome | None = None
    _prepare: asyncio.Task[Commit] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.exclusive = self.op.plugin_id is None

    def cancel(self) -> bool:
        """Ask the run to stop; False when it is past the point where its work can be undone."""
        if self.phase not in ("starting", "preparing"):
            return False
        if not self.cancel_requested:
            self.cancel_requested = True
            if self._prepare is not None:
                self._prepare.cancel()
        return True

    async def execute(self) -> Outcome:
        if self.cancel_requested:
            return Outcome("cancelled", "Cancelled before it started")
        self.phase = "preparing"
        loop = asyncio.get_running_loop()
        prepare = self._prepare = loop.create_task(self._prepare_in_time())
        try:
            await asyncio.wait({prepare})
        except asyncio.CancelledError:  # the queue is stopping: let the work roll back first
            prepare.cancel()
            await asyncio.wait({prepare}, timeout=STOP_GRACE_S)
            if self._prepared(prepare) is None:  # it had landed: record it before going
                await self._finish_commit_while_stopping(prepare.result())
            raise
        outcome = self._prepared(prepare)
        if outcome is not None:
            self.phase = "done"
            return outcome
        self.phase = "committing"
        commit = loop.create_task(self._commit(prepare.result()))
        try:
            outcome = await asyncio.shield(commit)
        except asyncio.CancelledError:  # the files have landed: the bookkeeping must follow
            await asyncio.wait({commit}, timeout=STOP_GRACE_S)
            if commit.done() and not commit.cancelled():
                self.outcome_while_stopping = commit.result()
            raise
        self.phase = "done"
        return outcome

    async def _finish_commit_while_stopping(self, commit: Commit) -> None:
        task = asyncio.get_running_loop().create_task(self._commit(commit))
        await asyncio.wait({task}, timeout=STOP_GRACE_S)
        if task.done() and not task.cancelled():
            self.outcome_while_stopping = task.result()

    async def _commit(self, commit: Commit) -> Outcome:
        try:
            result = await commit()
        except PlugvisorError as exc:
            return self._commit_failed(exc.message)
        except Exception as exc:
            log.exception("operation_commit_crashed", operation_id=self.op.operation_id)
            return self._commit_failed(type(exc).__name__)
        return Outcome("completed", result.get("message", "Completed"), result=result)

    async def _prepare_in_time(self) -> Commit:
        try:
            async with asyncio.timeout(self.deadline_s) as deadline:
                return await self.executor.prepare(self.op, self.report, self.private)
        except TimeoutError:
            if deadline.expired():
                raise DeadlineExceeded from None
            raise

    def _prepared(self, prepare: asyncio.Task[Commit]) -> Outcome | None:
        """The outcome of a preparation that did not reach its commit, else None."""
        if prepare.cancelled():
            return Outcome("cancelled", "Cancelled; its work was rolled back")
        exc = prepare.exception()
        if exc is None:
            return None
        if isinstance(exc, DeadlineExceeded):
            return Outcome(
                "timed_out",
                f"Did not finish within {self.deadline_s:g} s; its work was rolled back",
                error=_error(ErrorCode.TIMEOUT, "Operation deadline exceeded"),
            )
        if isinstance(exc, PlugvisorError):
            log.warning(
                "operation_failed",
                operation_id=self.op.operation_id,
                error_code=exc.code.value,
                error=exc.message,
            )
            return Outcome("failed", exc.message, error=_error(exc.code, exc.message))
        log.error(
            "operation_crashed",
            operation_id=self.op.operation_id,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        message = "An unexpected error occurred"
        return Outcome("failed", message, error=_error(ErrorCode.UNKNOWN_ERROR, message))

    def _commit_failed(self, reason: str) -> Outcome:
        return commit_failed(self.op.operation_id, reason)


def commit_failed(operation_id: str, reason: str) -> Outcome:
    """The outcome of an operation whose files changed but whose config step was refused."""
    message = (
        "The plugin's files were changed, but recording the change failed "
        f"({reason}); reconciliation will bring config and state in line"
    )
    log.error("operation_commit_failed", operation_id=operation_id, reason=reason)
    return Outcome("failed", message, error=_error(ErrorCode.SYSTEM_ERROR, message))
