"""The history record (shared/API.md): vocabulary, validation on append, config-event mapping."""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson

from actors.errors import invalid_input
from actors.plugin_ids import validate_plugin_id
from actors.timeutil import iso, now_iso, parse_iso

OPERATION_TYPES = frozenset(
    {
        "install",
        "update",
        "uninstall",
        "enable",
        "disable",
        "configure",
        "config_main",
        "config_schedule",
        "config_restore",
        "reconcile",
    }
)
# Config events recorded as history: saves, restores and toggles (the config store keeps the
# enabled flag). Others (``config_ensure``, ``config_drop``) belong to an operation's record.
CONFIG_KINDS = frozenset(
    {"configure", "config_main", "config_schedule", "config_restore", "enable", "disable"}
)
STATUSES = frozenset({"completed", "failed", "cancelled", "timed_out", "interrupted"})
_STATUS_ALIASES = {"success": "completed", "ok": "completed", "error": "failed"}

OPERATION_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
MAX_RECORD_BYTES = 64 * 1024  # one serialized line; bounds what a reader ever holds for one record
MAX_USER_CHARS = 128
# Keys of a config event that never go into details: the saved values themselves may hold secrets.
_EVENT_DROPPED_KEYS = frozenset({"config", "values", "secrets", "body", "data"})
_EVENT_RECORD_KEYS = frozenset(
    {"kind", "operation_id", "plugin_id", "status", "error", "user", "timestamp"}
)


def validate_operation_id(value: Any, field: str = "operation_id") -> str:
    if not isinstance(value, str) or OPERATION_ID_PATTERN.fullmatch(value) is None:
        raise invalid_input(
            f"'{field}' must be 1-128 characters of letters, digits, '.', '_', ':' or '-'",
            field=field,
        )
    return value


def validate_choice(value: Any, choices: frozenset[str], field: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise invalid_input(f"'{field}' must be one of: {', '.join(sorted(choices))}", field=field)
    return value


def normalize_time(value: Any, field: str = "timestamp") -> str:
    """An ISO 8601 time in the contract's form (UTC, milliseconds, ``Z``); raises 400 otherwise."""
    if not isinstance(value, str):
        raise invalid_input(f"'{field}' must be an ISO 8601 time", field=field)
    try:
        return iso(parse_iso(value))
    except ValueError:
        raise invalid_input(f"'{field}' must be an ISO 8601 time", field=field) from None


def build_record(
    *,
    operation_id: Any,
    operation_type: Any,
    plugin_id: Any,
    status: Any,
    timestamp: Any = None,
    user: Any = "local",
    details: Any = None,
    error: Any = None,
) -> dict[str, Any]:
    """A validated record, keys in contract order (``operation_id`` first: readers rely on it)."""
    if user is None:
        user = "local"
    if not isinstance(user, str) or not 0 < len(user) <= MAX_USER_CHARS:
        raise invalid_input(
            f"'user' must be a string of 1-{MAX_USER_CHARS} characters", field="user"
        )
    if details is None:
        details = {}
    if not isinstance(details, dict):
        raise invalid_input("'details' must be an object", field="details")
    if error is not None and not isinstance(error, str):
        raise invalid_input("'error' must be a string or null", field="error")
    return {
        "operation_id": validate_operation_id(operation_id),
        "operation_type": validate_choice(operation_type, OPERATION_TYPES, "operation_type"),
        "plugin_id": None if plugin_id is None else validate_plugin_id(plugin_id),
        "timestamp": now_iso() if timestamp is None else normalize_time(timestamp),
        "status": validate_choice(status, STATUSES, "status"),
        "user": user,
        "details": details,
        "error": error,
    }


def encode_record(record: dict[str, Any]) -> bytes:
    """One JSON line as stored; raises 400 for values JSON cannot hold or an oversized record."""
    try:
        line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        raise invalid_input("'details' must hold JSON values only", field="details") from None
    if len(line) > MAX_RECORD_BYTES:
        raise invalid_input(
            f"History record is larger than {MAX_RECORD_BYTES // 1024} KiB", field="details"
        )
    return line


def is_record(value: Any) -> bool:
    """Whether a parsed line has the record's shape (a cheap check for readers)."""
    return (
        isinstance(value, dict)
        and isinstance(value.get("operation_id"), str)
        and isinstance(value.get("timestamp"), str)
        and value.get("operation_type") in OPERATION_TYPES
        and value.get("status") in STATUSES
    )


def record_from_config_event(data: dict[str, Any]) -> dict[str, Any] | None:
    """Map a ``config`` event to a record, or ``None`` for events that are no config save.

    An event without ``operation_id`` gets a fresh uuid4 hex; ``status`` accepts the
    record's statuses and ``success``/``ok``/``error``; an ``error`` object gives its message.
    """
    kind = data.get("kind")
    if kind not in CONFIG_KINDS:
        return None
    status = data.get("status", "completed")
    status = _STATUS_ALIASES.get(status, status) if isinstance(status, str) else status
    error = data.get("error")
    if isinstance(error, dict):
        error = error.get("message") or error.get("error_code")
    if error is not None and not isinstance(error, str):
        error = str(error)
    details = {
        key: value
        for key, value in data.items()
        if key not in _EVENT_RECORD_KEYS and key not in _EVENT_DROPPED_KEYS
    }
    return build_record(
        operation_id=data.get("operation_id") or uuid.uuid4().hex,
        operation_type=kind,
        plugin_id=data.get("plugin_id"),
        status=status,
        timestamp=data.get("timestamp"),
        user=data.get("user"),
        details=details,
        error=error,
    )
