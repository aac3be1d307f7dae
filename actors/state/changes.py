"""How each state message changes ``{plugin_id: PluginState}``: checks and transitions, no I/O."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from actors.errors import ErrorCode, PlugvisorError, invalid_input
from actors.plugin_ids import validate_plugin_id
from actors.state.discovery import DiskScan
from actors.state.messages import (
    DiscoveryReport,
    RemoveState,
    SetEnabled,
    SetError,
    SetHealth,
    SetInstalled,
    SetUpdated,
)
from actors.state.model import HEALTH, MARKERS, MISSING, PluginState
from actors.timeutil import iso, now_iso, parse_iso

States = dict[str, PluginState]
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Applied:
    """A message's answer and what changed (``change`` is ``None`` when nothing did)."""

    answer: Any
    plugin_id: str
    change: str | None
    persist: bool = True


def apply(states: States, msg: Any) -> Applied:
    return _APPLY[type(msg)](states, msg)


def set_installed(states: States, msg: SetInstalled) -> Applied:
    plugin_id = validate_plugin_id(msg.plugin_id)
    installed_at = _time(msg.installed_at, "installed_at") or now_iso()
    _check(isinstance(msg.enabled, bool), "enabled", "a boolean")
    _check(msg.source is None or isinstance(msg.source, dict), "source", "an object")
    version = _text(msg.version, "version")
    operation_id = _operation_id(msg.operation_id)
    old = states.get(plugin_id)
    metadata = {k: v for k, v in old.metadata.items() if k not in MARKERS} if old else {}
    if msg.source is not None:
        metadata["source"] = copy.deepcopy(msg.source)
    states[plugin_id] = PluginState(
        plugin_id=plugin_id,
        status="enabled" if msg.enabled else "installed",
        enabled=msg.enabled,
        version=version,
        installed_at=installed_at,
        last_updated=installed_at,
        config_version=old.config_version + 1 if old else 1,
        last_operation_id=operation_id or (old.last_operation_id if old else None),
        health=old.health if old else "unknown",
        metadata=metadata,
    )
    return Applied(states[plugin_id].to_dict(), plugin_id, "installed")


def set_enabled(states: States, msg: SetEnabled) -> Applied:
    state = _existing(states, msg.plugin_id)
    _check(isinstance(msg.enabled, bool), "enabled", "a boolean")
    operation_id = _operation_id(msg.operation_id)
    target = "enabled" if msg.enabled else "disabled"
    seen = state.metadata.get("config_generation")
    if msg.config_generation is not None:
        if isinstance(seen, int) and seen > msg.config_generation:
            return Applied(state.to_dict(), state.plugin_id, None)  # a newer toggle won
        state.metadata["config_generation"] = msg.config_generation
    if state.enabled is msg.enabled and state.base_status() == target:
        return Applied(state.to_dict(), state.plugin_id, None)
    state.enabled = msg.enabled
    state.set_base_status(target)
    _touch(state, operation_id)
    return Applied(state.to_dict(), state.plugin_id, target)


def set_updated(states: States, msg: SetUpdated) -> Applied:
    state = _existing(states, msg.plugin_id)
    version = _text(msg.version, "version")
    last_updated = _time(msg.last_updated, "last_updated") or now_iso()
    operation_id = _operation_id(msg.operation_id)
    state.version, state.last_updated = version, last_updated
    state.unmark(*MARKERS)
    _touch(state, operation_id)
    return Applied(state.to_dict(), state.plugin_id, "updated")


def set_error(states: States, msg: SetError) -> Applied:
    state = _existing(states, msg.plugin_id)
    _check(isinstance(msg.error, str) and msg.error != "", "error", "a non-empty string")
    operation_id = _operation_id(msg.operation_id)
    info = {
        "message": msg.error[:MAX_ERROR_CHARS],
        "since": now_iso(),
        "operation_id": operation_id,
    }
    state.mark("last_error", info)
    _touch(state, operation_id)
    return Applied(state.to_dict(), state.plugin_id, "error")


def remove_state(states: States, msg: RemoveState) -> Applied:
    plugin_id = validate_plugin_id(msg.plugin_id)
    _operation_id(msg.operation_id)
    removed = states.pop(plugin_id, None) is not None
    return Applied(removed, plugin_id, "removed" if removed else None)


def set_health(states: States, msg: SetHealth) -> Applied:
    plugin_id = validate_plugin_id(msg.plugin_id)
    _check(msg.health in HEALTH, "health", "one of " + ", ".join(sorted(HEALTH)))
    state = states.get(plugin_id)
    if state is None or state.health == msg.health:
        return Applied(state.to_dict() if state else None, plugin_id, None, persist=False)
    state.health = msg.health
    return Applied(state.to_dict(), plugin_id, "health", persist=False)


def apply_discovery(states: States, scan: DiskScan) -> tuple[DiscoveryReport, list[Applied]]:
    """Add states for new plugins, mark broken manifests and vanished directories; never delete."""
    changed: list[Applied] = []
    added, invalid, recovered, missing = [], [], [], []
    now = now_iso()
    for plugin_id, disk in scan.plugins.items():
        state = states.get(plugin_id)
        if state is None:
            state = states[plugin_id] = PluginState(
                plugin_id, metadata={"source": {"type": "discovered"}}
            )
            state.version = disk.manifest.get("version") if disk.manifest else None
            change = "discovered"
            added.append(plugin_id)
            new = True
        else:
            new = False
            change = "recovered" if state.unmark(MISSING) else None
        if disk.error is not None:
            invalid.append(plugin_id)
            marker = state.metadata.get("manifest_error")
            if not isinstance(marker, dict) or marker.get("message") != disk.error:
                state.mark("manifest_error", {"message": disk.error, "since": now})
                change = "manifest_invalid"
        elif state.unmark("manifest_error"):
            change = "recovered"
        if change == "recovered":
            recovered.append(plugin_id)
        if change is not None:
            if not new:
                state.config_version += 1
            changed.append(Applied(state.to_dict(), plugin_id, change))
    for plugin_id, state in states.items():
        if plugin_id in scan.plugins:
            continue
        missing.append(plugin_id)
        if MISSING not in state.metadata:
            state.mark(MISSING, {"since": now, "reason": "plugin directory not found"})
            state.config_version += 1
            changed.append(Applied(state.to_dict(), plugin_id, MISSING))
    report = DiscoveryReport(
        tuple(added), tuple(invalid), tuple(recovered), tuple(sorted(missing)), tuple(scan.ignored)
    )
    return report, changed


# -- checks ------------------------------------------------------------------------------


def _existing(states: States, plugin_id: Any) -> PluginState:
    state = states.get(validate_plugin_id(plugin_id))
    if state is None:
        raise PlugvisorError(
            ErrorCode.PLUGIN_NOT_FOUND,
            f"Plugin '{plugin_id}' is not installed",
            context={"plugin_id": plugin_id},
        )
    return state


def _touch(state: PluginState, operation_id: str | None) -> None:
    state.config_version += 1
    if operation_id is not None:
        state.last_operation_id = operation_id


def _operation_id(operation_id: Any) -> str | None:
    if operation_id is None:
        return None
    _check(isinstance(operation_id, str) and 0 < len(operation_id) <= 128, "operation_id", "an id")
    return operation_id


def _text(value: Any, field: str) -> str | None:
    _check(value is None or (isinstance(value, str) and len(value) <= 128), field, "a short string")
    return value


def _time(value: Any, field: str) -> str | None:
    if value is None:
        return None
    try:
        return iso(parse_iso(value))
    except (TypeError, ValueError, AttributeError):
        raise invalid_input(f"'{field}' must be an ISO 8601 time", field=field) from None


def _check(ok: bool, field: str, what: str) -> None:
    if not ok:
        raise invalid_input(f"'{field}' must be {what}", field=field)


_APPLY: dict[type, Callable[[States, Any], Applied]] = {
    SetInstalled: set_installed,
    SetEnabled: set_enabled,
    SetUpdated: set_updated,
    SetError: set_error,
    RemoveState: remove_state,
    SetHealth: set_health,
}
