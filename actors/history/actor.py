"""The history actor: group-commits records to the JSON Lines store and answers queries.

Records waiting in the mailbox are appended together with one fsync; each asking caller is
answered only after that fsync. Config saves published on the bus are recorded too.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from actors.damage import Damage
from actors.errors import ErrorCode, PlugvisorError
from actors.events import Event, EventBus
from actors.fsio import Syncer, storage_error
from actors.health_reasons import GetHealthReasons, HealthReason
from actors.history.messages import (
    QueryHistory,
    RecordConfigEvent,
    RecordOperation,
    RecordOperationOnce,
)
from actors.history.query import HistoryQuery
from actors.history.records import (
    build_record,
    encode_record,
    record_from_config_event,
    validate_operation_id,
)
from actors.history.store import HistoryLimits, HistoryPage, HistoryStore
from actors.timeutil import now_iso
from supervision import Actor, Envelope, SupervisionError, handles

log = structlog.get_logger(__name__, actor="history")

_BATCHED = (RecordOperation, RecordConfigEvent)


def _batchable(message: Any) -> bool:
    """Written together with the record in hand; a RecordOperationOnce waits for its own
    look-up (drained into a batch, it would be written again)."""
    return isinstance(message, _BATCHED) and not isinstance(message, RecordOperationOnce)


@dataclass(slots=True)
class _Pending:
    message: Any
    envelope: Envelope | None
    record: dict[str, Any] | None = None
    line: bytes = b""
    error: PlugvisorError | None = None


class HistoryActor(Actor):
    def __init__(
        self,
        folder: Path,
        bus: EventBus | None = None,
        *,
        limits: HistoryLimits | None = None,
        syncer: Syncer | None = None,
        batch_limit: int = 256,
        flush_window_s: float = 0.0,
        damage: Damage | None = None,
    ) -> None:
        super().__init__()
        self._store = HistoryStore(folder, limits, syncer, damage)
        self._bus = bus
        self._batch_limit = batch_limit
        self._flush_window_s = flush_window_s
        self._write_failure: HealthReason | None = None

    async def started(self) -> None:
        await asyncio.to_thread(self._store.open)
        unsubscribe = None
        if self._bus is not None:
            unsubscribe = self._bus.subscribe(self._on_config_event, topics=("config",))
        self.spawn(self._lifetime(unsubscribe), name="history-lifetime")

    async def _lifetime(self, unsubscribe: Any) -> None:
        """Owns what this incarnation holds: cancelled on stop or crash, it lets go of both."""
        try:
            await asyncio.Event().wait()
        finally:
            if unsubscribe is not None:
                unsubscribe()
            self._store.close()

    def _on_config_event(self, event: Event) -> None:
        ref = self.ref
        try:
            ref.tell_nowait(RecordConfigEvent(dict(event.data)))
        except SupervisionError as exc:  # full or stopped: never block the publisher
            log.error("history_event_dropped", seq=event.seq, reason=type(exc).__name__)

    # -- writing ---------------------------------------------------------------------------

    @handles(RecordOperation, RecordConfigEvent)
    async def record(self, msg: Any) -> dict[str, Any] | None:
        if self._flush_window_s:
            await asyncio.sleep(self._flush_window_s)
        drained = self.drain(_batchable, self._batch_limit - 1)
        batch = [_Pending(msg, None)] + [_Pending(e.message, e) for e in drained]
        for pending in batch:
            self._prepare(pending)
        await self._write([p for p in batch if p.record is not None and p.error is None])
        for pending in batch[1:]:
            self._settle(pending)
        first = batch[0]
        if type(first.message) is not RecordOperation:
            self._settle(first)
            return None
        if first.error is not None:
            raise first.error
        return first.record

    def _prepare(self, pending: _Pending) -> None:
        msg = pending.message
        try:
            if isinstance(msg, RecordConfigEvent):
                pending.record = record_from_config_event(msg.data)
            else:
                pending.record = build_record(
                    operation_id=msg.operation_id,
                    operation_type=msg.operation_type,
                    plugin_id=msg.plugin_id,
                    status=msg.status,
                    timestamp=msg.timestamp,
                    user=msg.user,
                    details=dict(msg.details) if msg.details is not None else None,
                    error=msg.error,
                )
            if pending.record is not None:
                pending.line = encode_record(pending.record)
        except PlugvisorError as exc:
            pending.error = exc

    async def _write(self, batch: list[_Pending]) -> None:
        if not batch:
            return
        try:
            await asyncio.to_thread(self._store.append, [p.line for p in batch])
        except OSError as exc:
            error = storage_error(exc, ErrorCode.SYSTEM_ERROR, "record the operation history")
            for pending in batch:
                pending.error = error
            self._write_failure = self._write_failure or HealthReason(
                code="history_write_failed",
                message="The operation history could not be written",
                since=now_iso(),
                detail=error.message,
                remediation="Check free space and the health of the data partition",
            )
            log.error("history_write_failed", records=len(batch), error=error.message)
            return
        self._write_failure = None

    def _settle(self, pending: _Pending) -> None:
        envelope = pending.envelope
        if pending.error is not None:
            if envelope is not None and envelope.is_ask:
                envelope.fail(pending.error)
            else:
                log.error(
                    "history_record_dropped",
                    message_type=type(pending.message).__name__,
                    error=pending.error.message,
                    field=pending.error.context.get("field"),
                )
        elif envelope is not None:
            envelope.reply(pending.record)

    @handles(RecordOperationOnce)
    async def record_once(self, msg: RecordOperationOnce) -> dict[str, Any] | None:
        operation_id = validate_operation_id(msg.operation_id)
        existing = await asyncio.to_thread(self._store.find, operation_id)
        if existing is not None and existing.get("status") == msg.status:
            return existing
        fields = {name: getattr(msg, name) for name in RecordOperation.__dataclass_fields__}
        return await self.record(RecordOperation(**fields))

    # -- reading ---------------------------------------------------------------------------

    @handles(QueryHistory)
    async def query(self, msg: QueryHistory) -> HistoryPage:
        query = HistoryQuery.parse(
            plugin_id=msg.plugin_id,
            operation_type=msg.operation_type,
            status=msg.status,
            limit=msg.limit,
            before=msg.before,
        )
        return await asyncio.to_thread(self._store.query, query)

    @handles(GetHealthReasons)
    def health_reasons(self, msg: GetHealthReasons) -> list[HealthReason]:
        return [self._write_failure] if self._write_failure else []
