"""Every route's input, declared once: the handlers read requests through these objects and
``web.spec.operations`` turns the same objects into the OpenAPI document.

The checks are the domain's own (plugin ids, git and archive URLs, branches, history cursors),
so the document describes what a handler accepts and the handler cannot drift from it.
"""

from __future__ import annotations

import math
import re
from typing import Any

from actors.config_store.backups import BACKUP_ID as BACKUP_ID_PATTERN
from actors.errors import ErrorCode, PlugvisorError, invalid_input
from actors.history.query import parse_cursor
from actors.history.records import OPERATION_TYPES as HISTORY_TYPES
from actors.history.records import STATUSES as HISTORY_STATUSES
from actors.installer.urls import (
    MAX_URL_LENGTH,
    is_archive_url,
    validate_archive_url,
    validate_branch,
    validate_git_url,
    validate_plugin_path,
)
from actors.plugin_ids import PLUGIN_ID_PATTERN, RESERVED_CONFIG_KEYS, validate_plugin_id
from web.spec.inputs import (
    Body,
    Field,
    PathParam,
    QueryChoice,
    QueryFlag,
    QueryInt,
    QueryText,
    Upload,
)

# --- shared pieces ---------------------------------------------------------------------------

PLUGIN_ID_SCHEMA: dict[str, Any] = {
    "pattern": PLUGIN_ID_PATTERN.pattern,
    "not": {"anyOf": [{"pattern": r"\.\."}, {"enum": sorted(RESERVED_CONFIG_KEYS)}]},
    "examples": ["clock"],
}
BRANCH_SCHEMA: dict[str, Any] = {"maxLength": 200, "examples": ["main"]}
MAX_REPORT_ERROR_CHARS = 2000
MAX_OPERATION_ID = 64
MAX_SEQ = 2**63 - 1
_OPERATION_ID = re.compile(rf"[A-Za-z0-9]{{1,{MAX_OPERATION_ID}}}")


def plugin_id_field(required: bool = True) -> Field:
    return Field(
        "plugin_id",
        str,
        required=required,
        check=validate_plugin_id,
        description="Lowercase letters, digits, '.', '_' and '-'; at most 64; no '..'",
        schema=PLUGIN_ID_SCHEMA,
    )


WAIT = QueryFlag(
    "wait",
    "Block until the operation ends (at most 120 s): 200 with the final record or the "
    "operation's error; 202 with the current record if it is still running then",
)
DRY_RUN = QueryFlag("dry_run", "Validate only; nothing is saved")


# --- plugins ---------------------------------------------------------------------------------


def _version(value: str) -> str | None:
    """A release tag: refused now, not after queueing."""
    if not value.strip():
        raise invalid_input("'version' must not be empty", field="version")
    return validate_branch(value, field="version")


def _source_url(value: str) -> str:
    url = value.strip()
    return validate_archive_url(url) if is_archive_url(url) else validate_git_url(url)


INSTALL = Body(
    (
        plugin_id_field(),
        Field("branch", str, required=False, check=validate_branch, schema=BRANCH_SCHEMA),
        Field("version", str, required=False, check=_version, schema={"examples": ["1.0.0"]}),
    )
)
INSTALL_FROM_URL = Body(
    (
        Field(
            "repo_url",
            str,
            check=_source_url,
            description="A git URL (https, http, file, ssh) or an http(s) archive URL "
            "(.zip, .tar.gz, .tgz); no fragment, no scp-like syntax",
            schema={"maxLength": MAX_URL_LENGTH, "format": "plugvisor-source-url"},
        ),
        plugin_id_field(required=False),
        Field(
            "plugin_path",
            str,
            required=False,
            check=validate_plugin_path,
            description="A relative sub-folder of the repository or archive (monorepos)",
        ),
        Field("branch", str, required=False, check=validate_branch, schema=BRANCH_SCHEMA),
    )
)
ARCHIVE = Upload("archive", "A plugin archive, .zip or .tar.gz (at most 50 MiB)")
UPDATE = Body((plugin_id_field(),))
UNINSTALL = Body(
    (
        plugin_id_field(),
        Field(
            "preserve_config",
            bool,
            required=False,
            default=False,
            description="Keep the plugin's configuration",
        ),
    )
)
TOGGLE = Body((plugin_id_field(), Field("enabled", bool)))
STORE_FILTERS = tuple(
    QueryText(name, max_length=200, description=f"Only registry entries matching this {name}")
    for name in ("query", "category", "tag")
)
STATE_PLUGIN_ID = QueryText(
    "plugin_id",
    check=validate_plugin_id,
    description="One plugin's state; without it, every plugin's by id",
    schema=PLUGIN_ID_SCHEMA,
)
RECONCILE = Body(
    (
        Field("dry_run", bool, required=False, default=False, description="Report, fix nothing"),
        Field("force", bool, required=False, default=False, description="Run even if one just ran"),
    ),
    optional=True,
)


# --- operations ------------------------------------------------------------------------------


def _known_operation_id(value: str) -> str:
    if not _OPERATION_ID.fullmatch(value):
        raise PlugvisorError(
            ErrorCode.OPERATION_NOT_FOUND,
            "Operation not found",
            context={"operation_id": value[:MAX_OPERATION_ID]},
        )
    return value


def _only_active(value: str) -> str:
    if value != "active":
        raise invalid_input(
            "Query parameter 'status' must be 'active' (finished operations are in the history)",
            field="status",
        )
    return value


OPERATION_ID = PathParam(
    "operation_id",
    check=_known_operation_id,
    description="An operation id; anything else is 404 OPERATION_NOT_FOUND",
    schema={"pattern": rf"^[A-Za-z0-9]{{1,{MAX_OPERATION_ID}}}$"},
)
ACTIVE_ONLY = QueryText(
    "status",
    check=_only_active,
    description="Only 'active' (the default)",
    schema={"enum": ["active"]},
)
HISTORY_QUERY = (
    QueryText("plugin_id", check=validate_plugin_id, schema=PLUGIN_ID_SCHEMA),
    QueryChoice("operation_type", HISTORY_TYPES),
    QueryChoice("status", HISTORY_STATUSES),
    QueryInt("limit", 1, 1000, default=50, description="Records per page"),
    QueryText(
        "before",
        max_length=64,
        check=parse_cursor,
        description="An operation_id or an ISO 8601 time: the page of older records",
    ),
)


# --- configuration ---------------------------------------------------------------------------

CONFIG_PLUGIN_ID = QueryText(
    "plugin_id", required=True, check=validate_plugin_id, schema=PLUGIN_ID_SCHEMA
)
PLUGIN_CONFIG = Body(
    (
        plugin_id_field(),
        Field("config", dict, description="Validated against the plugin's config_schema.json"),
    )
)
MAIN_CONFIG = Body(
    description="System keys to deep-merge into the main config; unknown keys are refused",
    extra={"propertyNames": {"enum": sorted(RESERVED_CONFIG_KEYS)}},
)
SCHEDULE = Body(
    (
        Field("enabled", bool),
        Field("mode", str, schema={"enum": ["global", "per-day"]}),
        Field("start_time", str, description="HH:MM", schema={"examples": ["07:00"]}),
        Field("end_time", str, description="HH:MM", schema={"examples": ["23:00"]}),
        Field("days", dict, required=False, description="Per day: {enabled, start_time, end_time}"),
    ),
    description="The whole schedule (it replaces the stored one)",
)
BACKUP_ID = PathParam(
    "backup_id",
    description="A backup id from GET /api/v3/config/backups",
    schema={"pattern": BACKUP_ID_PATTERN.pattern},
)


# --- plugin health ---------------------------------------------------------------------------


def _duration(value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise invalid_input(
            "Field 'duration_ms' must be a non-negative number", field="duration_ms"
        )
    return value


def _report_error(value: str) -> str:
    if len(value) > MAX_REPORT_ERROR_CHARS:
        raise invalid_input(
            f"Field 'error' must be at most {MAX_REPORT_ERROR_CHARS} characters", field="error"
        )
    return value


HEALTH_PLUGIN_ID = PathParam("plugin_id", check=validate_plugin_id, schema=PLUGIN_ID_SCHEMA)
HEALTH_REPORT = Body(
    (
        Field("success", bool),
        Field(
            "error",
            str,
            required=False,
            check=_report_error,
            schema={"maxLength": MAX_REPORT_ERROR_CHARS},
        ),
        Field("duration_ms", (int, float), required=False, check=_duration, schema={"minimum": 0}),
    ),
    closed=True,
)


# --- status feed -----------------------------------------------------------------------------

FEED_SINCE = QueryInt(
    "since", 0, MAX_SEQ, description="Replay the events after this sequence number if buffered"
)
