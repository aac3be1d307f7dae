"""A lost configuration: told from a first start by signs of earlier use, and never silent.

Read-only looks into other owners' folders; nothing here writes.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from actors.errors import ErrorCode
from actors.health_reasons import HealthReason
from actors.paths import DataPaths
from actors.timeutil import now_iso

INSTALL_RECORD = ".plugvisor.json"  # written by the installer into every plugin it lands
MESSAGE = "The configuration was lost; the shipped defaults are in use"


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        return list(entries)
    return []


def _has_data(entry: os.DirEntry[str]) -> bool:
    with contextlib.suppress(OSError):
        return entry.is_file(follow_symlinks=False) and entry.stat().st_size > 0
    return False


def signs_of_use(paths: DataPaths) -> list[str]:
    """What outside ``config/`` shows the device was used before; [] on a first start.

    Plugin folders count only with the installer's record: a plugin copied in by hand says
    nothing about a configuration having existed.
    """
    signs = []
    installed = [
        entry
        for entry in _entries(paths.plugins_dir)
        if not entry.name.startswith(".") and os.path.isfile(Path(entry.path) / INSTALL_RECORD)
    ]
    if installed:
        signs.append(f"{len(installed)} installed plugin(s)")
    if any(entry.name == ".tombstones.json" for entry in _entries(paths.plugins_dir)):
        signs.append("a record of uninstalled plugins")
    if any(_has_data(e) and not e.name.startswith(".") for e in _entries(paths.state_dir)):
        signs.append("the plugin state")
    if any(_has_data(e) and e.name.startswith("operations-") for e in _entries(paths.history_dir)):
        signs.append("the operation history")
    if any(_has_data(e) for e in _entries(paths.journal_dir)):
        signs.append("the operation journal")
    return signs


def lost_reason(signs: list[str], secrets_aside: str | None) -> HealthReason:
    """The health reason: what shows the device was used, what was written, where secrets went."""
    detail = (
        f"config.json and its backups are missing, but the device was used before "
        f"({', '.join(signs)}); the shipped defaults were written"
    )
    remediation = "Set the plugins' settings and the system settings again"
    if secrets_aside is not None:
        detail += f"; the secrets file of the lost configuration was set aside as {secrets_aside}"
        remediation += (
            f"; the old secrets are in {secrets_aside} (mode 0600): "
            "delete it once you no longer need them"
        )
    return HealthReason(
        code="config_lost",
        message=MESSAGE,
        since=now_iso(),
        detail=detail,
        remediation=remediation,
        severity="unhealthy",
    )


def lost_event(signs: list[str], secrets_aside: str | None, generation: int) -> dict[str, Any]:
    """The ``config`` event the history records: a restore that failed, defaults written."""
    return {
        "kind": "config_restore",
        "plugin_id": None,
        "generation": generation,
        "backup_id": None,
        "status": "failed",
        "error": {
            "error_code": ErrorCode.CONFIG_LOAD_FAILED.value,
            "message": "The configuration was lost; the shipped defaults were written",
        },
        "user": "local",
        "reason": "config_lost",
        "evidence": signs,
        "defaults_written": True,
        "secrets_set_aside": secrets_aside,
    }
