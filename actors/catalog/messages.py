"""Messages the catalog actor answers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ResolveRegistryEntry:
    """-> the ``RegistryEntry`` the registry has now for ``plugin_id`` (exact id, then the
    last segment of plugin_path), after a cheap check that the copy is current.

    Raises ``PLUGIN_NOT_FOUND``, or ``REGISTRY_UNAVAILABLE`` when the registry cannot be read
    and no copy of it exists (an unreachable registry with a copy answers from the copy)."""

    plugin_id: str


@dataclass(frozen=True, slots=True)
class ListStore:
    """-> registry entries matching the filters, with ``installed`` and ``installed_version``,
    and ``registry: {available, fetched_at, stale, error}`` (``available``: a copy exists)."""

    query: str | None = None
    category: str | None = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class RefreshRegistry:
    """-> ``{plugin_count, fetched_at, stale, available, error}`` after re-reading the registry."""


@dataclass(frozen=True, slots=True)
class ListInstalled:
    """-> every installed plugin: manifest fields, state, and whether an update is available."""


@dataclass(frozen=True, slots=True)
class ListInstalledRendered:
    """-> ``actors.rendered.Rendered`` of ``{"plugins": <what ListInstalled answers>}``,
    serialised once per change of the state or of the registry copy."""
