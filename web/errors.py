"""The error envelope of the v3 contract and the mapping of error codes to HTTP status."""

from __future__ import annotations

from typing import Any

from actors.errors import ErrorCode, PlugvisorError

CATEGORY: dict[ErrorCode, str] = {
    ErrorCode.CONFIG_SAVE_FAILED: "configuration",
    ErrorCode.CONFIG_LOAD_FAILED: "configuration",
    ErrorCode.CONFIG_VALIDATION_FAILED: "configuration",
    ErrorCode.CONFIG_ROLLBACK_FAILED: "configuration",
    ErrorCode.CONFIG_CONFLICT: "configuration",
    ErrorCode.PLUGIN_NOT_FOUND: "plugin",
    ErrorCode.PLUGIN_INSTALL_FAILED: "plugin",
    ErrorCode.PLUGIN_UPDATE_FAILED: "plugin",
    ErrorCode.PLUGIN_UNINSTALL_FAILED: "plugin",
    ErrorCode.PLUGIN_OPERATION_CONFLICT: "plugin",
    ErrorCode.PLUGIN_INCOMPATIBLE: "plugin",
    ErrorCode.OPERATION_NOT_FOUND: "plugin",
    ErrorCode.INVALID_INPUT: "validation",
    ErrorCode.VALIDATION_ERROR: "validation",
    ErrorCode.NETWORK_ERROR: "network",
    ErrorCode.TIMEOUT: "network",
    ErrorCode.REGISTRY_UNAVAILABLE: "network",
    ErrorCode.UNAUTHORIZED: "permission",
    ErrorCode.FORBIDDEN: "permission",
    ErrorCode.SYSTEM_ERROR: "system",
    ErrorCode.SERVICE_UNAVAILABLE: "system",
    ErrorCode.INSUFFICIENT_STORAGE: "system",
    ErrorCode.PAYLOAD_TOO_LARGE: "system",
    ErrorCode.NOT_FOUND: "system",
    ErrorCode.METHOD_NOT_ALLOWED: "system",
    ErrorCode.UNKNOWN_ERROR: "unknown",
}

HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.CONFIG_SAVE_FAILED: 500,
    ErrorCode.CONFIG_LOAD_FAILED: 500,
    ErrorCode.CONFIG_VALIDATION_FAILED: 400,
    ErrorCode.CONFIG_ROLLBACK_FAILED: 500,
    ErrorCode.CONFIG_CONFLICT: 412,
    ErrorCode.PLUGIN_NOT_FOUND: 404,
    ErrorCode.PLUGIN_INSTALL_FAILED: 500,
    ErrorCode.PLUGIN_UPDATE_FAILED: 500,
    ErrorCode.PLUGIN_UNINSTALL_FAILED: 500,
    ErrorCode.PLUGIN_OPERATION_CONFLICT: 409,
    ErrorCode.PLUGIN_INCOMPATIBLE: 400,
    ErrorCode.OPERATION_NOT_FOUND: 404,
    ErrorCode.INVALID_INPUT: 400,
    ErrorCode.VALIDATION_ERROR: 400,
    ErrorCode.NETWORK_ERROR: 502,
    ErrorCode.TIMEOUT: 504,
    ErrorCode.REGISTRY_UNAVAILABLE: 503,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.SYSTEM_ERROR: 500,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.INSUFFICIENT_STORAGE: 507,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.UNKNOWN_ERROR: 500,
}

DEFAULT_FIXES: dict[ErrorCode, list[str]] = {
    ErrorCode.CONFIG_SAVE_FAILED: [
        "Check the permissions of the data directory",
        "Check the free space on the device",
    ],
    ErrorCode.CONFIG_VALIDATION_FAILED: ["Correct the fields listed in context.validation_errors"],
    ErrorCode.CONFIG_CONFLICT: ["Reload the configuration and apply your change again"],
    ErrorCode.PLUGIN_NOT_FOUND: ["Check the plugin id", "Refresh the list of installed plugins"],
    ErrorCode.PLUGIN_OPERATION_CONFLICT: [
        "Wait for the running operation to finish or cancel it",
    ],
    ErrorCode.NETWORK_ERROR: ["Check the device's network connection"],
    ErrorCode.TIMEOUT: ["Try again in a moment"],
    ErrorCode.SERVICE_UNAVAILABLE: ["Try again in a moment"],
    ErrorCode.INSUFFICIENT_STORAGE: ["Free space on the device's data partition"],
}


def error_body(error: PlugvisorError) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "error",
        "error_code": error.code.value,
        "error_category": CATEGORY[error.code],
        "message": error.message,
    }
    if error.details:
        body["details"] = error.details
    if error.context:
        body["context"] = error.context
    fixes = error.suggested_fixes or DEFAULT_FIXES.get(error.code)
    if fixes:
        body["suggested_fixes"] = fixes
    return body


def status_for(error: PlugvisorError) -> int:
    return HTTP_STATUS[error.code]
