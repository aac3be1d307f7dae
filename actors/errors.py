"""Domain errors: every failure carries a stable error code and a message safe to show a person."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """The error codes of the HTTP contract (shared/API.md, "Envelope")."""

    CONFIG_SAVE_FAILED = "CONFIG_SAVE_FAILED"
    CONFIG_LOAD_FAILED = "CONFIG_LOAD_FAILED"
    CONFIG_VALIDATION_FAILED = "CONFIG_VALIDATION_FAILED"
    CONFIG_ROLLBACK_FAILED = "CONFIG_ROLLBACK_FAILED"
    CONFIG_CONFLICT = "CONFIG_CONFLICT"
    PLUGIN_NOT_FOUND = "PLUGIN_NOT_FOUND"
    PLUGIN_INSTALL_FAILED = "PLUGIN_INSTALL_FAILED"
    PLUGIN_UPDATE_FAILED = "PLUGIN_UPDATE_FAILED"
    PLUGIN_UNINSTALL_FAILED = "PLUGIN_UNINSTALL_FAILED"
    PLUGIN_OPERATION_CONFLICT = "PLUGIN_OPERATION_CONFLICT"
    PLUGIN_INCOMPATIBLE = "PLUGIN_INCOMPATIBLE"
    OPERATION_NOT_FOUND = "OPERATION_NOT_FOUND"
    INVALID_INPUT = "INVALID_INPUT"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    NETWORK_ERROR = "NETWORK_ERROR"
    TIMEOUT = "TIMEOUT"
    REGISTRY_UNAVAILABLE = "REGISTRY_UNAVAILABLE"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    SYSTEM_ERROR = "SYSTEM_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INSUFFICIENT_STORAGE = "INSUFFICIENT_STORAGE"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    UNKNOWN_ERROR = "UNKNOWN_ERROR"


class PlugvisorError(Exception):
    """A failure the user can be told about.

    ``message`` must be safe to show: no stack trace, no absolute path, no secret.
    ``context`` is structured detail for clients (``{"field": "plugin_id"}``).
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        details: str | None = None,
        context: dict[str, Any] | None = None,
        suggested_fixes: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.context = context or {}
        self.suggested_fixes = suggested_fixes or []

    def __repr__(self) -> str:
        return f"PlugvisorError({self.code.value}, {self.message!r})"


def invalid_input(message: str, field: str | None = None, **context: Any) -> PlugvisorError:
    """The 400 every boundary check raises: ``context.field`` names the offending field."""
    if field is not None:
        context = {"field": field, **context}
    return PlugvisorError(ErrorCode.INVALID_INPUT, message, context=context)
