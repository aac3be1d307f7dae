"""The one rule for plugin ids, applied at every boundary before anything is touched."""

from __future__ import annotations

import re
from typing import Any

from actors.errors import invalid_input

PLUGIN_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

# Top-level keys of config.json that belong to the system, never to a plugin.
RESERVED_CONFIG_KEYS = frozenset(
    {
        "display",
        "schedule",
        "dim_schedule",
        "timezone",
        "location",
        "plugin_system",
        "logging",
        "network",
        "system",
        "web",
        "auth",
    }
)


def is_valid_plugin_id(value: Any) -> bool:
    return (
        isinstance(value, str)
        and PLUGIN_ID_PATTERN.fullmatch(value) is not None
        and ".." not in value
        and value not in RESERVED_CONFIG_KEYS
    )


def validate_plugin_id(value: Any, field: str = "plugin_id") -> str:
    """Return ``value`` if it is a valid plugin id, else raise 400 ``INVALID_INPUT``."""
    if not isinstance(value, str):
        raise invalid_input(f"'{field}' must be a string", field=field)
    if not is_valid_plugin_id(value):
        shown = value if len(value) <= 80 else value[:80] + "…"
        raise invalid_input(
            f"'{field}' is not a valid plugin id: {shown!r} (lowercase letters, digits, '.', '_'"
            " and '-', at most 64 characters, no '..', not a reserved config key)",
            field=field,
        )
    return value
