"""Read one system setting from the live config file without the store running (read only).

For the command-line tools (``run.py rotate-token``) that act while the server may or may
not run; the server itself asks the config store.
"""

from __future__ import annotations

from typing import Any

import orjson

from actors.paths import DataPaths

from .commit import CONFIG_NAME


def system_setting(paths: DataPaths, *keys: str) -> Any:
    """The value at ``keys`` in ``config/config.json``, or None when it or the file is missing
    or unreadable (the store would then fall back to a backup: do the same, by hand, first)."""
    try:
        value: Any = orjson.loads((paths.config_dir / CONFIG_NAME).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
