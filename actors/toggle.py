"""Enable or disable a plugin: one write, to the config (the home of ``enabled``).

The config store publishes the change as an ``enable``/``disable`` event, which the history
actor records and the state actor follows; the state is asked only after the save, so the
answer shows the view that already includes it.
"""

from __future__ import annotations

from typing import Any

from actors.config_store.messages import SetPluginEnabled
from actors.errors import ErrorCode, PlugvisorError, invalid_input
from actors.plugin_ids import validate_plugin_id
from actors.state.messages import GetState
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
        raise invalid_input("'enabled' must be true or false", field="enabled")
    if await state.ask(GetState(plugin_id), timeout=timeout) is None:
        raise PlugvisorError(
            ErrorCode.PLUGIN_NOT_FOUND,
            f"Plugin '{plugin_id}' is not installed",
            context={"plugin_id": plugin_id},
        )
    await config_store.ask(SetPluginEnabled(plugin_id, enabled, user=user), timeout=timeout)
    updated = await state.ask(GetState(plugin_id), timeout=timeout)
    status = updated["status"] if updated else "unknown"
    return {"plugin_id": plugin_id, "enabled": enabled, "status": status}
