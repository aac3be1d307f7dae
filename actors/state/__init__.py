"""Plugin state: the single source of truth in ``state/plugin_state.json``, owned by StateActor."""

from actors.state.actor import StateActor
from actors.state.messages import (
    DiscoverPlugins,
    DiscoveryReport,
    GetAllStates,
    GetState,
    RemoveState,
    SetEnabled,
    SetError,
    SetHealth,
    SetInstalled,
    SetUpdated,
)

__all__ = [
    "DiscoverPlugins",
    "DiscoveryReport",
    "GetAllStates",
    "GetState",
    "RemoveState",
    "SetEnabled",
    "SetError",
    "SetHealth",
    "SetInstalled",
    "SetUpdated",
    "StateActor",
]
