"""The reconciler actor: runs at start, on an interval and on request; requests at once share a run.

A run gathers facts (``facts.py``), detects (``checks.py``), applies the safe fixes unless it
is a dry run (``fixes.py``), records one ``reconcile`` history record, publishes its result on
the bus topic ``reconcile`` and keeps it for the supervisor health.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from actors.damage import Damage
from actors.errors import ErrorCode, PlugvisorError
from actors.events import EventBus
from actors.fsio import Syncer
from actors.health_reasons import GetHealthReasons, HealthReason
from actors.history.messages import RecordOperation
from actors.reconciler.checks import MANUAL, detect
from actors.reconciler.facts import Sources, gather
from actors.reconciler.fixes import FixRefs, Outcome, apply_fixes
from actors.reconciler.ledger import Ledger, LedgerFile
from actors.reconciler.messages import GetLastReconcile, RunReconcile
from actors.timeutil import now_iso
from supervision import Actor, ActorRef, SupervisionError, handles

log = structlog.get_logger(__name__, actor="reconciler")

_MAX_DETAIL = 2000


@dataclass(frozen=True, slots=True)
class ReconcilerSettings:
    interval_s: float = 900.0  # 0 disables the periodic runs
    max_attempts: int = 3  # reinstalls of one missing plugin before it is left to a person


class Reconciler(Actor):
    def __init__(
        self,
        sources: Sources,
        ledger_dir: Path,
        bus: EventBus,
        history: ActorRef,
        *,
        settings: ReconcilerSettings = ReconcilerSettings(),
        syncer: Syncer | None = None,
        damage: Damage | None = None,
    ) -> None:
        super().__init__()
        self._src = sources
        self._file = LedgerFile(ledger_dir, syncer, damage)
        self._bus = bus
        self._history = history
        self._settings = settings
        self._ledger = Ledger()
        self._runs: dict[tuple[bool, bool], asyncio.Future[dict[str, Any]]] = {}
        self._one_at_a_time = asyncio.Lock()
        self._last: dict[str, Any] | None = None

    async def started(self) -> None:
        self._ledger = await asyncio.to_thread(self._file.load)
        self.spawn(self._periodic(), name="reconcile-periodic")  # start is not slowed by it

    # --- handlers --------------------------------------------------------------------

    @handles(RunReconcile)
    def run(self, msg: RunReconcile) -> asyncio.Future[dict[str, Any]]:
        key = (msg.dry_run, msg.force)
        shared = self._runs.get(key)
        if shared is not None and not shared.done():
            return shared
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)
        self._runs[key] = future
        self.spawn(self._run(msg, future), name="reconcile-run")
        return future

    @handles(GetLastReconcile)
    def last(self, msg: GetLastReconcile) -> dict[str, Any] | None:
        return self._last

    @handles(GetHealthReasons)
    def health_reasons(self, msg: GetHealthReasons) -> list[HealthReason]:
        last = self._last
        if last is None or not last["inconsistencies_manual"]:
            return []
        items = last["manual_fix_required"]
        return [
            HealthReason(
                code="reconcile_manual_fixes",
                message=f"Reconciliation found {len(items)} inconsistency(ies) that need a person",
                since=last["completed_at"],
                detail="; ".join(item["description"] for item in items)[:_MAX_DETAIL],
                remediation="Act on each description (last_reconcile in the supervisor health "
                "lists them), then POST /api/v3/plugins/state/reconcile to check again",
            )
        ]

    # --- runs ------------------------------------------------------------------------

    async def _periodic(self) -> None:
        trigger = "start"
        while True:
            future = self.run(RunReconcile(user="reconciler", trigger=trigger))
            with contextlib.suppress(PlugvisorError):  # logged by the run; the next one tries
                await future
            if self._settings.interval_s <= 0:
                return
            await asyncio.sleep(self._settings.interval_s)
            trigger = "interval"

    async def _run(self, msg: RunReconcile, future: asyncio.Future[dict[str, Any]]) -> None:
        key = (msg.dry_run, msg.force)
        try:
            async with self._one_at_a_time:
                result = await self._reconcile(msg)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except (PlugvisorError, SupervisionError, TimeoutError, OSError) as exc:
            log.error("reconcile_failed", trigger=msg.trigger, error=str(exc))
            await self._record(uuid.uuid4().hex, msg, None, error=str(exc))
            future.set_exception(
                PlugvisorError(
                    ErrorCode.SYSTEM_ERROR,
                    "Reconciliation could not finish; nothing more was changed",
                    suggested_fixes=["Check the supervisor health, then reconcile again"],
                )
            )
        else:
            future.set_result(result)
        finally:
            if self._runs.get(key) is future:
                del self._runs[key]

    async def _reconcile(self, msg: RunReconcile) -> dict[str, Any]:
        operation_id, started_at = uuid.uuid4().hex, now_iso()
        ledger, src = self._ledger, self._src
        if msg.force and not msg.dry_run:
            ledger.attempts.clear()
            await self._save_ledger()
        attempts = {} if msg.force else dict(ledger.attempts)
        gathered = await gather(
            self._src, attempts, set(ledger.reported), self._settings.max_attempts
        )
        facts = gathered.facts
        findings = detect(facts)
        if msg.dry_run:
            outcomes = [Outcome(finding, fixed=False) for finding in findings]
        else:
            # Plugins that are back (or no longer configured) need no budget any more.
            ledger.attempts = {
                pid: n
                for pid, n in ledger.attempts.items()
                if pid not in facts.disk and pid in facts.config
            }
            outcomes = await apply_fixes(
                findings,
                FixRefs(src.config_store, src.state, src.queue, src.timeouts),
                generation=gathered.generation,
                count_attempt=self._count_attempt,
                user=msg.user,
            )
            ledger.reported = list(gathered.interrupted_ids)
            if ledger.to_dict() != self._file.on_disk:  # a run that changes nothing writes nothing
                await self._save_ledger()
        result = _result(outcomes, dry_run=msg.dry_run)
        summary = {
            "operation_id": operation_id,
            "trigger": msg.trigger,
            "dry_run": msg.dry_run,
            "force": msg.force,
            "started_at": started_at,
            "completed_at": now_iso(),
            **result,
        }
        self._last = summary
        # A scheduled run that found nothing leaves no trace but last_reconcile: no event, no
        # history record (96 empty records a day would only wear the SD card).
        if msg.trigger == "request" or outcomes:
            self._bus.publish("reconcile", summary)
            await self._record(operation_id, msg, result)
        log.info(
            "reconciled",
            trigger=msg.trigger,
            dry_run=msg.dry_run,
            found=result["inconsistencies_found"],
            fixed=result["inconsistencies_fixed"],
            manual=result["inconsistencies_manual"],
        )
        return result

    async def _count_attempt(self, plugin_id: str) -> None:
        self._ledger.attempts[plugin_id] = self._ledger.attempts.get(plugin_id, 0) + 1
        await self._save_ledger()

    async def _save_ledger(self) -> None:
        try:
            await asyncio.to_thread(self._file.save, self._ledger)
        except OSError as exc:
            raise PlugvisorError(
                ErrorCode.SYSTEM_ERROR,
                "The reconciler could not save its attempt budget",
                context={"reason": exc.strerror},
            ) from None

    async def _record(
        self,
        operation_id: str,
        msg: RunReconcile,
        result: dict[str, Any] | None,
        error: str | None = None,
    ) -> None:
        details: dict[str, Any] = {
            "trigger": msg.trigger,
            "dry_run": msg.dry_run,
            "force": msg.force,
        }
        if result is not None:
            details.update(
                {key: result[key] for key in result if key.startswith("inconsistencies_")},
                types=sorted({item["type"] for item in result["inconsistencies"]}),
            )
        record = RecordOperation(
            operation_id=operation_id,
            operation_type="reconcile",
            plugin_id=None,
            status="completed" if error is None else "failed",
            details=details,
            error=None if error is None else "Reconciliation could not finish",
            user=msg.user,
        )
        try:
            await self._history.ask(record, timeout=self._src.timeouts.write)
        except (PlugvisorError, SupervisionError, TimeoutError) as exc:
            log.warning("reconcile_not_recorded", operation_id=operation_id, error=str(exc))


def _result(outcomes: list[Outcome], *, dry_run: bool) -> dict[str, Any]:
    def brief(outcome: Outcome) -> dict[str, Any]:
        item = outcome.finding.to_dict()
        del item["fix_action"]
        return item

    fixed = [brief(o) for o in outcomes if o.fixed]
    manual = [brief(o) for o in outcomes if o.finding.fix_action == MANUAL]
    return {
        "inconsistencies_found": len(outcomes),
        "inconsistencies_fixed": len(fixed),
        "inconsistencies_manual": len(manual),
        "inconsistencies": [o.finding.to_dict() for o in outcomes],
        "fixed": fixed,
        "manual_fix_required": manual,
        "dry_run": dry_run,
    }


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a failed run's error as seen, so one nobody awaited any more is not logged as lost."""
    if not future.cancelled():
        future.exception()
