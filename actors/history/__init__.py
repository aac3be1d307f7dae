"""Operation history: append-only JSON Lines in ``history/``, written only by the history actor."""

from actors.history.actor import HistoryActor
from actors.history.messages import (
    QueryHistory,
    RecordConfigEvent,
    RecordOperation,
)
from actors.history.store import HistoryLimits, HistoryPage

__all__ = [
    "HistoryActor",
    "HistoryLimits",
    "HistoryPage",
    "QueryHistory",
    "RecordConfigEvent",
    "RecordOperation",
]
