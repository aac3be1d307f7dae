"""Messages the catalog actor answers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LookupRegistry:
    """-> the registry entry (a dict) for ``plugin_id`` (exact id, then plugin_path), or None."""

    plugin_id: str


@dataclass(frozen=True, slots=True)
class ListStore:
    """-> registry entries matching the filters, with ``installed`` and ``installed_version``."""

    query: str | None = None
    category: str | None = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class RefreshRegistry:
    """-> ``{plugin_count, fetched_at, stale, error}`` after re-reading the registry."""


@dataclass(frozen=True, slots=True)
class ListInstalled:
    """-> every installed plugin: manifest fields, state, and whether an update is available."""
