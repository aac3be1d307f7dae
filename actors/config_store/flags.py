"""Each plugin's ``enabled`` flag as the config holds it: the one home of that fact, and its diffs.

A section without a boolean ``enabled`` takes its schema's default; :data:`DEFAULT` marks such a
flag until the store resolves it against the plugin's schema (off the event loop).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from actors.plugin_ids import is_valid_plugin_id

DEFAULT: Final = "default"  # the section exists, its `enabled` comes from the schema
Flag = bool | str | None  # True, False, DEFAULT, or None: no section at all


def flag_of(section: Any) -> Flag:
    if not isinstance(section, dict):
        return None
    value = section.get("enabled")
    return value if isinstance(value, bool) else DEFAULT


def plugin_keys(config: Mapping[str, Any]) -> list[str]:
    """The top-level keys that are plugin sections (system keys and junk excluded)."""
    return [key for key in config if is_valid_plugin_id(key)]


def changed_flags(
    before: Mapping[str, Any], after: Mapping[str, Any], keys: Iterable[str] | None = None
) -> dict[str, Flag]:
    """The flags that differ between two configs, for ``keys`` (default: every plugin key)."""
    candidates = keys if keys is not None else {*plugin_keys(before), *plugin_keys(after)}
    changed: dict[str, Flag] = {}
    for key in candidates:
        if not is_valid_plugin_id(key):
            continue
        old, new = flag_of(before.get(key)), flag_of(after.get(key))
        if old is not new and old != new:
            changed[key] = new
    return changed


def all_flags(config: Mapping[str, Any]) -> dict[str, Flag]:
    return {key: flag_of(config[key]) for key in plugin_keys(config)}


def resolve(flags: Mapping[str, Flag], default_of: Callable[[str], bool]) -> dict[str, bool | None]:
    """Replace every :data:`DEFAULT` by the schema's default (blocking: it may read a schema)."""
    return {
        key: default_of(key) if flag == DEFAULT else flag  # type: ignore[misc]
        for key, flag in flags.items()
    }
