"""Enable or disable a plugin: the config first (durable), then the state that follows it.

The config store publishes the change as an ``enable``/``disable`` event, which the history
actor records; the state update carries the config generation, so concurrent toggles leave
config and state agreeing whatever order their answers arrive in.
"""

from __future__ import annotations

from typing import Any

from actors.config_store.messages import SaveResult, SetPluginEnabled
from actors.errors import ErrorCode, PlugvisorError
from actors.plugin_ids import validate_plugin_id
from actors.state.messages import GetState, SetEnabled
from supervision import ActorRef


async def toggle_plugin(
    config_store: ActorRef,
    state: ActorRef,
    plugin_id: str,
    enabled: bool,
    *,
    user: str = "local",
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Answer ``{plugin_id, enabled, status}`` once the change is durable on disk."""
    plugin_id = validate_plugin_id(plugin_id)
    if not isinstance(enabled, bool):
        raise PlugvisorError(
            ErrorCode.INVALID_INPUT, "'enabled' must be true or false", context={"field": "enabled"}
        )
    current = await state.ask(GetState(plugin_id), timeout=timeout)
    if current is None:
        raise PlugvisorError(
            ErrorCode.PLUGIN_NOT_FOUND,
            f"Plugin '{plugin_id}' is not installed",
            context={"plugin_id": plugin_id},
        )
    saved: SaveResult = await config_store.ask(
        SetPluginEnabled(plugin_id, enabled, user=user), timeout=timeout
    )
    updated = await state.ask(
        SetEnabled(plugin_id, enabled, config_generation=saved.generation), timeout=timeout
    )
    return {"plugin_id": plugin_id, "enabled": enabled, "status": updated["status"]}
