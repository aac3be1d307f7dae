"""What each save does: pure functions over a working copy that never edit the live snapshot."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from actors.errors import ErrorCode, PlugvisorError, invalid_input
from actors.plugin_ids import RESERVED_CONFIG_KEYS

from .commit import Snapshot
from .messages import (
    DropPluginConfig,
    EnsurePluginEntry,
    RestoreBackup,
    SaveMainConfig,
    SavePluginConfig,
    SaveSchedule,
    SetPluginEnabled,
)
from .schemas import SystemSchemas
from .secrets import MISSING, apply_update, join, mask_leaf, masked, split_section
from .validation import Checker, pointer, validation_failed

SYSTEM_KEYS = tuple(sorted(RESERVED_CONFIG_KEYS))


@dataclass(slots=True)
class Working:
    base: Snapshot
    config: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, snap: Snapshot) -> Working:
        return cls(snap, dict(snap.config), dict(snap.secrets))

    def put(self, key: str, clear: Any, secret: Any) -> None:
        """Replace (or with ``None`` remove) a section's clear and secret parts."""
        if clear is None:
            self.config.pop(key, None)
        else:
            self.config[key] = clear
        if secret:  # an empty secret part is no part at all
            self.secrets[key] = secret
        else:
            self.secrets.pop(key, None)

    def changed(self) -> bool:
        return self.config != self.base.config or self.secrets != self.base.secrets

    def section(self, keys: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
        clear = {k: self.config[k] for k in keys if k in self.config}
        return clear, {k: self.secrets[k] for k in keys if k in self.secrets}

    def etag(self, keys: tuple[str, ...]) -> str:
        """A hash of what a read shows plus which secrets generation: it reveals no secret."""
        clear, secret = self.section(keys)
        view = join(clear, secret or MISSING, mask_leaf)
        tag = b""
        if secret:
            same = all(self.secrets.get(k) is self.base.secrets.get(k) for k in secret)
            tag = str(self.base.secrets_generation).encode() if same else b"pending"
        digest = hashlib.sha256(orjson.dumps(view, option=orjson.OPT_SORT_KEYS) + b"|" + tag)
        return f'"{digest.hexdigest()[:20]}"'


def if_match_ok(if_match: str | None, etag: str) -> bool:
    if if_match is None:
        return True
    wanted = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    return "*" in wanted or etag in wanted


def check_if_match(if_match: str | None, etag: str) -> None:
    if not if_match_ok(if_match, etag):
        raise PlugvisorError(
            ErrorCode.CONFIG_CONFLICT,
            "The configuration changed since it was read",
            context={"etag": etag},
        )


# --- views (what a read shows) ---------------------------------------------------------------


def plugin_view(work: Working, plugin_id: str, checker: Checker) -> dict[str, Any]:
    clear, secret = work.config.get(plugin_id), work.secrets.get(plugin_id)
    clear = clear if isinstance(clear, dict) else {}
    return checker.fill_defaults(masked(checker.schema, clear, secret or {}, checker.resolver))


def main_view(work: Working, system: SystemSchemas) -> dict[str, Any]:
    clear, secret = work.section(SYSTEM_KEYS)
    return system.main.fill_defaults(
        masked(system.main.schema, clear, secret, system.main.resolver)
    )


def schedule_view(work: Working, system: SystemSchemas) -> dict[str, Any]:
    stored = work.config.get("schedule")
    return system.schedule.fill_defaults(copy.deepcopy(stored) if isinstance(stored, dict) else {})


# --- saves -------------------------------------------------------------------------------------


def save_plugin(work: Working, msg: SavePluginConfig, checker: Checker) -> None:
    key = (msg.plugin_id,)
    check_if_match(msg.if_match, work.etag(key))
    clear, secret = work.config.get(msg.plugin_id), work.secrets.get(msg.plugin_id)
    clear = clear if isinstance(clear, dict) else {}
    stored = join(clear, secret or MISSING)
    shown = plugin_view(work, msg.plugin_id, checker)
    new = apply_update(stored, shown, dict(msg.config))
    errors = checker.errors(checker.fill_defaults(new, secrets=True))
    if errors:
        raise validation_failed(errors, plugin_id=msg.plugin_id)
    new_clear, new_secret = split_section(checker.schema, new, checker.resolver)
    work.put(msg.plugin_id, new_clear, new_secret)


def save_main(work: Working, msg: SaveMainConfig, system: SystemSchemas) -> None:
    check_if_match(msg.if_match, work.etag(SYSTEM_KEYS))
    clear, secret = work.section(SYSTEM_KEYS)
    new = apply_update(join(clear, secret or MISSING), main_view(work, system), dict(msg.config))
    errors = system.main_errors(system.main.fill_defaults(new, secrets=True))
    # An unknown key sent as null (remove) is dropped by the merge before the schema sees it:
    # refused here like any other unknown key.
    dropped = [
        {"path": pointer([key]), "message": "is not an allowed key"}
        for key, value in msg.config.items()
        if value is None and key not in SYSTEM_KEYS
    ]
    if dropped:
        errors = sorted(errors + dropped, key=lambda e: (e["path"], e["message"]))
    if errors:
        raise validation_failed(errors)
    new_clear, new_secret = split_section(system.main.schema, new, system.main.resolver)
    for key in SYSTEM_KEYS:
        work.put(key, new_clear.get(key), new_secret.get(key))


def save_schedule(work: Working, msg: SaveSchedule, system: SystemSchemas) -> None:
    check_if_match(msg.if_match, work.etag(("schedule",)))
    new = {k: copy.deepcopy(v) for k, v in msg.schedule.items() if v is not None}
    errors = system.schedule_errors(system.schedule.fill_defaults(new))
    if errors:
        raise validation_failed(errors)
    work.put("schedule", new, work.secrets.get("schedule"))


def set_enabled(work: Working, msg: SetPluginEnabled) -> None:
    if not isinstance(msg.enabled, bool):
        raise invalid_input("'enabled' must be true or false", field="enabled")
    clear = work.config.get(msg.plugin_id)
    clear = clear if isinstance(clear, dict) else {}
    work.put(msg.plugin_id, {**clear, "enabled": msg.enabled}, work.secrets.get(msg.plugin_id))


def ensure_entry(work: Working, msg: EnsurePluginEntry, checker: Checker) -> None:
    if isinstance(work.config.get(msg.plugin_id), dict):
        return
    enabled = msg.enabled
    if enabled is None:
        enabled = checker.fill_defaults({}).get("enabled", True)
    work.put(msg.plugin_id, {"enabled": bool(enabled)}, work.secrets.get(msg.plugin_id))


def drop_entry(work: Working, msg: DropPluginConfig) -> None:
    work.put(msg.plugin_id, None, None)


def restore(work: Working, msg: RestoreBackup, backup: Snapshot) -> None:
    work.config = dict(backup.config)
    work.secrets = dict(backup.secrets)


# --- dispatch ---------------------------------------------------------------------------------


def run(
    work: Working,
    msg: Any,
    system: SystemSchemas,
    checker: Checker | None = None,
    backup: Snapshot | None = None,
) -> None:
    """Apply one save message to ``work`` (raises ``PlugvisorError`` if it is refused)."""
    if isinstance(msg, SavePluginConfig):
        assert checker is not None
        save_plugin(work, msg, checker)
    elif isinstance(msg, SaveMainConfig):
        save_main(work, msg, system)
    elif isinstance(msg, SaveSchedule):
        save_schedule(work, msg, system)
    elif isinstance(msg, SetPluginEnabled):
        set_enabled(work, msg)
    elif isinstance(msg, EnsurePluginEntry):
        assert checker is not None
        ensure_entry(work, msg, checker)
    elif isinstance(msg, DropPluginConfig):
        drop_entry(work, msg)
    else:
        assert isinstance(msg, RestoreBackup) and backup is not None
        restore(work, msg, backup)


View = tuple[tuple[str, ...] | None, Any]


def view(
    work: Working, msg: Any, system: SystemSchemas, checker: Checker | None, changed: bool
) -> View:
    """What a save shows its caller: the keys of the resource it changed and its read view."""
    if isinstance(msg, SavePluginConfig):
        assert checker is not None
        return (msg.plugin_id,), plugin_view(work, msg.plugin_id, checker)
    if isinstance(msg, SaveMainConfig):
        return SYSTEM_KEYS, main_view(work, system)
    if isinstance(msg, SaveSchedule):
        return ("schedule",), schedule_view(work, system)
    if isinstance(msg, SetPluginEnabled):
        return None, {"plugin_id": msg.plugin_id, "enabled": msg.enabled}
    if isinstance(msg, EnsurePluginEntry):
        return None, {"plugin_id": msg.plugin_id, "created": changed}
    if isinstance(msg, DropPluginConfig):
        return None, {"plugin_id": msg.plugin_id, "removed": changed}
    return None, {"restored_backup_id": msg.backup_id}
