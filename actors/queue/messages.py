"""Messages the operation queue answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Enqueue:
    """Queue an operation; answers ``{operation_id, status, position, deduplicated}``.

    Answered once the operation is journaled (durable).
    """

    operation_type: str
    plugin_id: str | None
    parameters: dict[str, Any] = field(default_factory=dict)
    lane: str | None = None  # defaults to plugin_id
    user: str = "local"
    # In memory only, never journaled or shown: an uploaded archive, a URL with credentials.
    private: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class GetOperation:
    operation_id: str


@dataclass(frozen=True, slots=True)
class ListOperations:
    """Pending and running operations in queue order (running first)."""


@dataclass(frozen=True, slots=True)
class CancelOperation:
    """Pending: cancelled at once. Running: stopped and rolled back (watch its events)."""

    operation_id: str


@dataclass(frozen=True, slots=True)
class ActiveLanes:
    """Which plugins have an operation pending or running: ``{plugin_id: operation_id}``."""


@dataclass(frozen=True, slots=True)
class ListFinished:
    """Finished operations still retained with ``status`` (e.g. ``interrupted``), oldest first."""

    status: str
