"""Plugin state: the derived view of each installed plugin, owned by StateActor (``state/``)."""

from actors.state.actor import StateActor
from actors.state.follow import follow_events
from actors.state.messages import (
    FollowConfig,
    FollowOperation,
    GetAllStates,
    GetState,
    RescanPlugins,
)

__all__ = [
    "FollowConfig",
    "FollowOperation",
    "GetAllStates",
    "GetState",
    "RescanPlugins",
    "StateActor",
    "follow_events",
]
