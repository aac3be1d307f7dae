"""Whether an operation may act on an installed plugin: installed now, or queued to be first."""

from __future__ import annotations

from actors.errors import ErrorCode, PlugvisorError
from actors.queue.messages import ActiveLanes
from actors.state.messages import GetState
from supervision import ActorRef


async def require_installed(
    state: ActorRef, queue: ActorRef, plugin_id: str, *, timeout: float
) -> None:
    """Raise ``PLUGIN_NOT_FOUND`` unless the plugin is installed or an operation on it is
    queued ahead: an uninstall right after an install is accepted and runs after it, in order.
    """
    if await state.ask(GetState(plugin_id), timeout=timeout) is not None:
        return
    if plugin_id not in await queue.ask(ActiveLanes(), timeout=timeout):
        raise PlugvisorError(
            ErrorCode.PLUGIN_NOT_FOUND,
            f"Plugin '{plugin_id}' is not installed",
            context={"plugin_id": plugin_id},
        )
