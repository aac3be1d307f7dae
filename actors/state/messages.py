"""Messages of the state actor (the only writer of ``state/plugin_state.json``).

States come back as plain dicts in the contract's shape, always fresh copies. Mutations are
asks (a told mutation that fails crashes the actor); each is answered once durable on disk.
The actor also answers ``actors.health_reasons.GetHealthReasons``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class GetState:
    """-> the plugin's state dict, or ``None``."""

    plugin_id: str


@dataclass(frozen=True, slots=True)
class GetAllStates:
    """-> ``{plugin_id: state}``."""


@dataclass(frozen=True, slots=True)
class SetInstalled:
    """-> the state. Creates or replaces; status ``enabled`` or ``installed``; clears markers."""

    plugin_id: str
    version: str | None = None
    installed_at: str | None = None  # default: now
    source: dict[str, Any] | None = None  # stored as metadata.source
    enabled: bool = False
    operation_id: str | None = None


@dataclass(frozen=True, slots=True)
class SetEnabled:
    """-> the state; 404 if unknown. Base status ``enabled``/``disabled`` (error/unknown stay)."""

    plugin_id: str
    enabled: bool
    operation_id: str | None = None
    # The config generation that holds this value: a change older than the last one seen is
    # ignored, so concurrent toggles leave state agreeing with the config whatever the order.
    config_generation: int | None = None


@dataclass(frozen=True, slots=True)
class SetUpdated:
    """-> the state after an update; 404 if unknown. Clears error markers."""

    plugin_id: str
    version: str | None
    last_updated: str | None = None  # default: now
    operation_id: str | None = None


@dataclass(frozen=True, slots=True)
class SetError:
    """-> the state; 404 if unknown. Status ``error`` with ``metadata.last_error``."""

    plugin_id: str
    error: str
    operation_id: str | None = None


@dataclass(frozen=True, slots=True)
class RemoveState:
    """-> ``True`` if a state was removed, ``False`` if there was none."""

    plugin_id: str
    operation_id: str | None = None


@dataclass(frozen=True, slots=True)
class SetHealth:
    """-> the state, or ``None`` for an unknown plugin. Runtime only: never written on its own."""

    plugin_id: str
    health: str


@dataclass(frozen=True, slots=True)
class DiscoverPlugins:
    """-> :class:`DiscoveryReport`. Reads ``plugins/*/manifest.json``; also run at start."""


@dataclass(frozen=True, slots=True)
class DiscoveryReport:
    added: tuple[str, ...] = ()  # on disk without a state: one was created
    invalid: tuple[str, ...] = ()  # manifest missing or unparsable: now ``error``
    recovered: tuple[str, ...] = ()  # back on disk or manifest fixed: markers dropped
    missing: tuple[str, ...] = ()  # state without directory: ``unknown``, kept for reconciling
    ignored: tuple[str, ...] = ()  # directories whose name is no valid plugin id


MUTATIONS = (SetInstalled, SetEnabled, SetUpdated, SetError, RemoveState, SetHealth)
