"""Messages the reconciler answers (besides ``actors.health_reasons.GetHealthReasons``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RunReconcile:
    """-> an ``asyncio.Future`` of the run's result dict (the contract's shape).

    The caller awaits the future (bounded by its own timeout): the actor never blocks its
    mailbox on a run. A request while a run with the same ``dry_run`` and ``force`` is under
    way gets that run's future; any other run waits for the one under way to end.
    """

    dry_run: bool = False
    force: bool = False
    user: str = "local"
    trigger: str = "request"  # "request", "start" or "interval"


@dataclass(frozen=True, slots=True)
class GetLastReconcile:
    """-> the last finished run's summary (``last_reconcile`` of the health), or ``None``."""
