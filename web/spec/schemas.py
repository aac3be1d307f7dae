"""JSON Schemas of what the API answers: the two envelopes and the data shapes (API.md).

Each shape requires the members the contract names and allows more (``additionalProperties``
is left open), so a later addition to a record is no breaking change. The error envelope's
``error_code`` and ``error_category`` enums come from the one mapping in ``web.errors``.
"""

from __future__ import annotations

from typing import Any

from actors.errors import ErrorCode
from web.errors import CATEGORY

REF = "#/components/schemas/"


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF + name}


def _obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": list(required),
    }


def _nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


TEXT = {"type": "string"}
FLAG = {"type": "boolean"}
COUNT = {"type": "integer", "minimum": 0}
TIME = {"type": "string", "description": "ISO 8601 UTC with a Z"}
MAYBE_TIME = _nullable("string", description="ISO 8601 UTC with a Z, or null")
ANY_OBJECT = {"type": "object"}

OPERATION_STATUSES = [
    "pending",
    "running",
    "completed",
    "failed",
    "cancelled",
    "timed_out",
    "interrupted",
]
PLUGIN_HEALTH = ["healthy", "degraded", "unhealthy", "unknown"]


def success_envelope(data: dict[str, Any]) -> dict[str, Any]:
    """``{"status": "success", "data": …, "message"?}`` around ``data``."""
    return _obj(
        {"status": {"const": "success"}, "data": data},
        {"message": TEXT},
    )


ERROR_ENVELOPE = _obj(
    {
        "status": {"const": "error"},
        "error_code": {"type": "string", "enum": [code.value for code in ErrorCode]},
        "error_category": {"type": "string", "enum": sorted(set(CATEGORY.values()))},
        "message": {"type": "string", "description": "Safe to show a person"},
    },
    {
        "details": TEXT,
        "context": {
            "type": "object",
            "description": "Structured detail; `field` names the offending input on a 400",
            "properties": {"field": TEXT},
        },
        "suggested_fixes": {"type": "array", "items": TEXT},
    },
)

RECEIPT = _obj(
    {
        "operation_id": TEXT,
        "status": {"type": "string", "enum": OPERATION_STATUSES},
        "position": _nullable("integer"),
        "deduplicated": FLAG,
    }
)

OPERATION = _obj(
    {
        "operation_id": TEXT,
        "operation_type": {"type": "string", "enum": ["install", "update", "uninstall"]},
        "plugin_id": _nullable("string"),
        "parameters": ANY_OBJECT,
        "status": {"type": "string", "enum": OPERATION_STATUSES},
        "progress": {"type": "number", "minimum": 0, "maximum": 1},
        "stage": TEXT,
        "message": _nullable("string"),
        "error": {
            "oneOf": [
                {"type": "null"},
                _obj({"error_code": TEXT, "message": TEXT}),
            ]
        },
        "result": _nullable("object"),
        "created_at": TIME,
        "started_at": MAYBE_TIME,
        "completed_at": MAYBE_TIME,
        "position": _nullable("integer"),
    }
)

HISTORY_RECORD = _obj(
    {
        "operation_id": TEXT,
        "operation_type": TEXT,
        "plugin_id": _nullable("string"),
        "timestamp": TIME,
        "status": TEXT,
        "user": TEXT,
        "details": ANY_OBJECT,
        "error": _nullable("string"),
    }
)

PLUGIN_STATE = _obj(
    {
        "plugin_id": TEXT,
        "status": {
            "type": "string",
            "enum": ["installed", "enabled", "disabled", "error", "unknown"],
        },
        "enabled": FLAG,
        "version": _nullable("string"),
        "installed_at": MAYBE_TIME,
        "last_updated": MAYBE_TIME,
        "config_version": _nullable("integer"),
        "last_operation_id": _nullable("string"),
        "health": {"type": "string", "enum": PLUGIN_HEALTH},
        "metadata": ANY_OBJECT,
    }
)

INSTALLED_PLUGIN = _obj(
    {
        "id": TEXT,
        "name": _nullable("string"),
        "version": _nullable("string"),
        "enabled": FLAG,
        "status": TEXT,
        "health": TEXT,
        "update_available": FLAG,
    },
    {
        "author": _nullable("string"),
        "description": _nullable("string"),
        "category": _nullable("string"),
        "tags": {"type": "array"},
        "latest_version": _nullable("string"),
        "installed_at": MAYBE_TIME,
        "last_updated": MAYBE_TIME,
        "source": _nullable("object"),
    },
)

REGISTRY_STATUS = _obj(
    {"available": FLAG, "stale": FLAG},
    {"fetched_at": MAYBE_TIME, "error": _nullable("string")},
)

STORE_LISTING = _obj(
    {
        "plugins": {
            "type": "array",
            "items": _obj(
                {"id": TEXT, "installed": FLAG},
                {"installed_version": _nullable("string")},
            ),
        },
        "registry": ref("RegistryStatus"),
    }
)

REGISTRY_REFRESH = {
    "allOf": [ref("RegistryStatus"), _obj({"plugin_count": COUNT})],
}

PLUGIN_HEALTH_SUMMARY = _obj(
    {
        "plugin_id": TEXT,
        "status": {"type": "string", "enum": PLUGIN_HEALTH},
        "circuit_state": {"type": "string", "enum": ["closed", "open", "half_open"]},
        "consecutive_failures": COUNT,
        "total_failures": COUNT,
        "total_successes": COUNT,
        "success_rate": _nullable("number"),
        "last_success_time": MAYBE_TIME,
        "last_failure_time": MAYBE_TIME,
        "last_error": _nullable("string"),
        "recovery_suggestions": {"type": "array", "items": TEXT},
    }
)

SUPERVISOR_HEALTH = _obj(
    {
        "status": {"type": "string", "enum": ["ok", "degraded", "unhealthy"]},
        "version": TEXT,
        "started_at": TIME,
        "uptime_s": {"type": "number", "minimum": 0},
        "actors": {
            "type": "array",
            "items": _obj(
                {
                    "name": TEXT,
                    "status": TEXT,
                    "restarts": COUNT,
                    "last_error": _nullable("string"),
                    "last_restart_at": MAYBE_TIME,
                    "mailbox_depth": COUNT,
                    "processed": COUNT,
                }
            ),
        },
        "reasons": {
            "type": "array",
            "items": _obj({"code": TEXT, "message": TEXT}),
        },
        "checks": ANY_OBJECT,
        "last_reconcile": _nullable("object"),
    }
)

INCONSISTENCY = _obj(
    {
        "plugin_id": _nullable("string"),
        "type": TEXT,
        "description": TEXT,
        "fix_action": {"type": "string", "enum": ["auto_fix", "manual_fix_required", "none"]},
    }
)

RECONCILE_RESULT = _obj(
    {
        "inconsistencies_found": COUNT,
        "inconsistencies_fixed": COUNT,
        "inconsistencies_manual": COUNT,
        "inconsistencies": {"type": "array", "items": ref("Inconsistency")},
        "fixed": {"type": "array"},
        "manual_fix_required": {"type": "array"},
    }
)

BACKUP = _obj({"backup_id": TEXT, "created_at": TIME, "size": COUNT, "valid": FLAG})

_SAVED = {"generation": {"type": "integer"}, "backup_id": _nullable("string")}
_CHECKED = {"valid": {"const": True}, "dry_run": {"const": True}}


def saved(key: str, value: dict[str, Any], **more: Any) -> dict[str, Any]:
    """A config save's data: the saved part and its generation, or a dry run's verdict."""
    part = {key: value, **more}
    return {"oneOf": [_obj({**part, **_SAVED}), _obj({**part, **_CHECKED})]}


COMPONENTS: dict[str, dict[str, Any]] = {
    "ErrorEnvelope": ERROR_ENVELOPE,
    "OperationReceipt": RECEIPT,
    "Operation": OPERATION,
    "HistoryRecord": HISTORY_RECORD,
    "PluginState": PLUGIN_STATE,
    "InstalledPlugin": INSTALLED_PLUGIN,
    "RegistryStatus": REGISTRY_STATUS,
    "StoreListing": STORE_LISTING,
    "RegistryRefresh": REGISTRY_REFRESH,
    "PluginHealth": PLUGIN_HEALTH_SUMMARY,
    "SupervisorHealth": SUPERVISOR_HEALTH,
    "Inconsistency": INCONSISTENCY,
    "ReconcileResult": RECONCILE_RESULT,
    "Backup": BACKUP,
}
