"""The plugin installer: registry, git and archive sources, checks, pip, landing, recovery."""

from actors.installer.archive import ArchiveLimits
from actors.installer.compat import LEDMATRIX_CORE_VERSION
from actors.installer.deps import PipOptions
from actors.installer.installer import Installer
from actors.installer.progress import ProgressCallback, Stage
from actors.installer.registry import Registry, RegistryEntry, RegistrySnapshot
from actors.installer.results import (
    InstalledRecord,
    InstallResult,
    PluginSource,
    RecoveryAction,
    RecoveryReport,
)

__all__ = [
    "LEDMATRIX_CORE_VERSION",
    "ArchiveLimits",
    "InstallResult",
    "InstalledRecord",
    "Installer",
    "PipOptions",
    "PluginSource",
    "ProgressCallback",
    "RecoveryAction",
    "RecoveryReport",
    "Registry",
    "RegistryEntry",
    "RegistrySnapshot",
    "Stage",
]
