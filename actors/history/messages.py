"""Messages of the history actor (the only writer of ``history/``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from actors.history.query import DEFAULT_LIMIT


@dataclass(frozen=True, slots=True)
class RecordOperation:
    """Ask: append one record -> the stored record dict, answered only once it is fsynced.

    Raises ``INVALID_INPUT`` (``context.field``) for a bad record, ``INSUFFICIENT_STORAGE``
    or ``SYSTEM_ERROR`` when it could not be written. ``timestamp`` defaults to now.
    """

    operation_id: str
    operation_type: str
    plugin_id: str | None
    status: str
    details: Mapping[str, Any] | None = None
    error: str | None = None
    user: str = "local"
    timestamp: str | None = None

    @classmethod
    def from_operation(cls, operation: Mapping[str, Any]) -> RecordOperation:
        """The record of a finished queue operation (its contract dict, plus ``user`` if known)."""
        error = operation.get("error")
        details = {
            key: operation[key]
            for key in ("parameters", "result", "message")
            if operation.get(key) is not None
        }
        return cls(
            operation_id=operation["operation_id"],
            operation_type=operation["operation_type"],
            plugin_id=operation.get("plugin_id"),
            status=operation["status"],
            details=details,
            error=error.get("message") if isinstance(error, Mapping) else error,
            user=operation.get("user") or "local",
            timestamp=operation.get("completed_at"),
        )


@dataclass(frozen=True, slots=True)
class RecordOperationOnce(RecordOperation):
    """Ask: the same append, unless the history already holds this operation with this status.

    Answers the stored record (the earlier one when it was there). The queue records each
    finished operation with it until the journal notes it recorded, so after a crash the
    history gets every operation once.
    """


@dataclass(frozen=True, slots=True)
class RecordConfigEvent:
    """Tell (from the bus topic ``config``): record a config save; other kinds are ignored."""

    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class QueryHistory:
    """Ask -> :class:`actors.history.store.HistoryPage`, newest first.

    ``limit`` 1..1000; ``before`` an operation id (records older than it; an unknown or pruned
    id gives an empty page) or an ISO time (records strictly older). 400 ``INVALID_INPUT``
    with ``context.field`` for a bad parameter.
    """

    plugin_id: str | None = None
    operation_type: str | None = None
    status: str | None = None
    limit: int = DEFAULT_LIMIT
    before: str | None = None
