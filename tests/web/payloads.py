"""Whole API answers to compare exactly: what a test cannot know (times, generated ids) is checked
for its form and replaced by a marker, everything else is spelled out."""

from __future__ import annotations

import re
from typing import Any

from tests.web.plugin_env import PluginEnv

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
OPERATION_ID = re.compile(r"[0-9a-f]{32}")
A_TIME = "<time>"

BAD_ID_RULE = (
    "(lowercase letters, digits, '.', '_' and '-', at most 64 characters, no '..', "
    "not a reserved config key)"
)


def stamped(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    """A copy of ``data`` whose ``keys`` each held a contract time, now ``A_TIME``."""
    copy = dict(data)
    for key in keys:
        assert isinstance(copy[key], str) and TIME.fullmatch(copy[key]), (key, copy[key])
        copy[key] = A_TIME
    return copy


def operation_stamped(record: dict[str, Any]) -> dict[str, Any]:
    """An operation record with its three times checked and replaced."""
    return stamped(record, "created_at", "started_at", "completed_at")


def registry_source(env: PluginEnv, plugin_id: str) -> dict[str, Any]:
    """The ``source`` of ``plugin_id`` installed from the test registry, at its repo's head."""
    return {
        "type": "registry",
        "url": env.repos[plugin_id].url,
        "branch": "main",
        "commit": env.repos[plugin_id].head(),
        "plugin_path": None,
        "registry_id": plugin_id,
        "requested_branch": None,
        "archive_sha256": None,
        "archive_name": None,
    }


def install_result(
    env: PluginEnv,
    plugin_id: str,
    version: str = "1.0.0",
    source: dict[str, Any] | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """The ``result`` of a fresh install of ``plugin_id`` (from the test registry by default)."""
    return {
        "plugin_id": plugin_id,
        "requested_id": None,
        "version": version,
        "name": f"Plugin {plugin_id}",
        "previous_version": None,
        "updated": True,
        "dependencies_installed": False,
        "source": source or registry_source(env, plugin_id),
        "enabled": True,
        "message": f"Plugin {plugin_id} {version} installed",
    } | changes


def finished(
    operation_id: str,
    operation_type: str,
    plugin_id: str,
    result: dict[str, Any],
    parameters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A completed operation record as GET /operation/<id> shows it (times stamped)."""
    return {
        "operation_id": operation_id,
        "operation_type": operation_type,
        "plugin_id": plugin_id,
        "parameters": parameters or {},
        "status": "completed",
        "progress": 1.0,
        "stage": "done",
        "message": result["message"],
        "error": None,
        "result": result,
        "created_at": A_TIME,
        "started_at": A_TIME,
        "completed_at": A_TIME,
        "position": None,
    }


def error(
    code: str, category: str, message: str, context: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """An error envelope; ``extra`` adds ``suggested_fixes`` or ``details``."""
    body: dict[str, Any] = {
        "status": "error",
        "error_code": code,
        "error_category": category,
        "message": message,
    }
    if context is not None:
        body["context"] = context
    return body | extra


def invalid(field: str, message: str) -> dict[str, Any]:
    return error("INVALID_INPUT", "validation", message, {"field": field})


def not_installed(plugin_id: str) -> dict[str, Any]:
    return error(
        "PLUGIN_NOT_FOUND",
        "plugin",
        f"Plugin '{plugin_id}' is not installed",
        {"plugin_id": plugin_id},
        suggested_fixes=["Check the plugin id", "Refresh the list of installed plugins"],
    )
