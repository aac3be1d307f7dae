"""The config store: the only writer of ``<data-dir>/config/`` (config, secrets, backups)."""

from .actor import ConfigStore, make_config_store
from .messages import (
    ConfigView,
    DropPluginConfig,
    EnsurePluginEntry,
    GetMainConfig,
    GetPluginConfig,
    GetPluginSchema,
    GetSchedule,
    GetTokenFileSetting,
    ListBackups,
    RestoreBackup,
    SaveMainConfig,
    SavePluginConfig,
    SaveResult,
    SaveSchedule,
    SetPluginEnabled,
)
from .secrets import MASK

__all__ = [
    "MASK",
    "ConfigStore",
    "ConfigView",
    "DropPluginConfig",
    "EnsurePluginEntry",
    "GetMainConfig",
    "GetPluginConfig",
    "GetPluginSchema",
    "GetSchedule",
    "GetTokenFileSetting",
    "ListBackups",
    "RestoreBackup",
    "SaveMainConfig",
    "SavePluginConfig",
    "SaveResult",
    "SaveSchedule",
    "SetPluginEnabled",
    "make_config_store",
]
