"""Messages the config store answers, and the values it answers with (always fresh copies)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

# --- reads ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GetPluginConfig:
    """The plugin's section merged with schema defaults, secrets masked: ``ConfigView``."""

    plugin_id: str


@dataclass(frozen=True, slots=True)
class GetPluginSchema:
    """The schema the plugin's section is validated against (its own plus the core keys)."""

    plugin_id: str


@dataclass(frozen=True, slots=True)
class GetMainConfig:
    """The system keys merged with the main schema's defaults, secrets masked: ``ConfigView``."""


@dataclass(frozen=True, slots=True)
class GetTokenFileSetting:
    """``auth.token_file`` as stored (a path, not a secret), or ``None``: no masking or
    defaults, so that a start that only needs this asks for nothing heavier."""


@dataclass(frozen=True, slots=True)
class GetSchedule:
    """The display schedule merged with its defaults: ``ConfigView``."""


@dataclass(frozen=True, slots=True)
class ListBackups:
    """Every backup, newest first: ``list[BackupInfo]``."""


@dataclass(frozen=True, slots=True)
class GetPluginFlags:
    """Every plugin section's effective ``enabled`` (schema defaults applied): ``PluginFlags``."""


# --- saves (group-committed: queued saves are made durable together) -------------------------


@dataclass(frozen=True, slots=True)
class SavePluginConfig:
    """Deep-merge ``config`` into the plugin's section; ``null`` removes a key (clears a secret),
    a masked or omitted secret keeps its stored value. Answers ``SaveResult`` once durable."""

    plugin_id: str
    config: Mapping[str, Any]
    if_match: str | None = None
    dry_run: bool = False
    user: str = "local"


@dataclass(frozen=True, slots=True)
class SaveMainConfig:
    """Deep-merge ``config`` (system keys only) into the main config."""

    config: Mapping[str, Any]
    if_match: str | None = None
    dry_run: bool = False
    user: str = "local"


@dataclass(frozen=True, slots=True)
class SaveSchedule:
    """Replace the schedule with ``schedule`` (missing keys take their defaults)."""

    schedule: Mapping[str, Any]
    if_match: str | None = None
    dry_run: bool = False
    user: str = "local"


@dataclass(frozen=True, slots=True)
class SetPluginEnabled:
    """Set only ``enabled`` in the plugin's section (what a toggle does)."""

    plugin_id: str
    enabled: bool
    user: str = "local"


@dataclass(frozen=True, slots=True)
class RestoreBackup:
    """Make that backup and its secrets twin the live config (the current one is backed up)."""

    backup_id: str
    user: str = "local"


@dataclass(frozen=True, slots=True)
class EnsurePluginEntry:
    """After an install: give the plugin a section ``{"enabled": ...}`` unless it has one.

    ``enabled=None`` takes the schema's default. Answers ``SaveResult`` (``changed`` False
    when the section already existed).
    """

    plugin_id: str
    enabled: bool | None = None
    user: str = "local"


@dataclass(frozen=True, slots=True)
class DropPluginConfig:
    """After an uninstall without preserve_config: remove the plugin's section and its secrets."""

    plugin_id: str
    user: str = "local"


SAVE_MESSAGES = (
    SavePluginConfig,
    SaveMainConfig,
    SaveSchedule,
    SetPluginEnabled,
    RestoreBackup,
    EnsurePluginEntry,
    DropPluginConfig,
)

# --- answers --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfigView:
    data: Any
    etag: str


@dataclass(frozen=True, slots=True)
class PluginFlags:
    """``enabled`` of every plugin that has a config section, as of config ``generation``."""

    generation: int
    enabled: dict[str, bool]


@dataclass(frozen=True, slots=True)
class SaveResult:
    """The outcome of a save, answered once it is durable.

    ``generation``: the config generation that includes this save (each change in a group
    commit gets its own, in arrival order; the last one is what the disk holds);
    ``backup_id``: the backup taken of the previous state; ``data``: the saved part as a
    read shows it (secrets masked).
    """

    generation: int
    etag: str | None
    backup_id: str | None
    changed: bool
    dry_run: bool = False
    data: Any = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
