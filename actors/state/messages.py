"""Messages of the state actor, the derived view of each installed plugin.

States come back as dicts in the contract's shape; treat them as read-only. The view follows
its homes: ``FollowConfig``, ``FollowOperation`` and ``FollowHealth`` arrive from the event bus (see
``actors/state/follow.py``), ``RescanPlugins`` from the writer of plugins/. The actor also
answers ``actors.health_reasons.GetHealthReasons``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class GetState:
    """-> the plugin's state dict, or ``None`` when it is not installed."""

    plugin_id: str


@dataclass(frozen=True, slots=True)
class GetAllStates:
    """-> ``{plugin_id: state}`` for every installed plugin, sorted by id."""


@dataclass(frozen=True, slots=True)
class GetAllStatesRendered:
    """-> ``actors.rendered.Rendered`` of what ``GetAllStates`` answers, serialised once per
    change of any view, not once per ask."""


@dataclass(frozen=True, slots=True)
class GetInstalledFacts:
    """-> ``InstalledFacts``: what plugins/ holds (``DiskPlugin``s) and each plugin's view, or
    only the revision when it is still ``known_revision`` (nothing changed since)."""

    known_revision: int = -1


@dataclass(frozen=True, slots=True)
class InstalledFacts:
    """The state's revision (it grows on every change of a view or of a plugin's files) and,
    unless unchanged, ``(disk, view)`` per installed plugin, sorted by id."""

    revision: int
    plugins: tuple[tuple[Any, dict[str, Any]], ...] | None


@dataclass(frozen=True, slots=True)
class InstalledChanged:
    """Told to the state's ``installed_listener`` when its revision moved: what an earlier
    ``GetInstalledFacts`` answered is out of date (queued in order with the change)."""

    revision: int


@dataclass(frozen=True, slots=True)
class RescanPlugins:
    """-> ``None`` once plugins/ has been read again (``plugin_ids`` only, or everything)."""

    plugin_ids: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class FollowConfig:
    """A committed config change: ``enabled`` flags that changed (``None``: section removed)."""

    generation: int
    plugin_id: str | None = None
    enabled: dict[str, bool | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FollowOperation:
    """An operation reached its end: note it, and read the plugin's folder again."""

    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class FollowHealth:
    """A plugin's health status changed (the health actor's ``health`` event of kind plugin)."""

    plugin_id: str
    health: str
