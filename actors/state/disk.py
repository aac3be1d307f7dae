"""What plugins/ holds, as the state sees it: each plugin's checked manifest and install record.

Blocking; the state actor calls these in a worker thread. The manifest goes through the same
check as an install (``actors.installer.manifest.check_fields``), so what an install accepts
the state accepts, and the reverse.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from actors.errors import PlugvisorError
from actors.installer.manifest import MANIFEST_FILE, check_fields, read_json_file
from actors.installer.results import RECORD_FILE, InstalledRecord
from actors.plugin_ids import is_valid_plugin_id


@dataclass(frozen=True, slots=True)
class DiskPlugin:
    plugin_id: str
    manifest: dict[str, Any] | None  # None when ``error`` says why it is unusable
    error: str | None = None
    record: InstalledRecord | None = None  # None for a copy not landed by Plugvisor


@dataclass(frozen=True, slots=True)
class DiskScan:
    plugins: dict[str, DiskPlugin]
    ignored: list[str] = field(default_factory=list)  # folder names that are no plugin id


def scan_plugins(plugins_dir: Path) -> DiskScan:
    """Every plugin folder (dot-entries skipped, invalid names reported as ignored)."""
    plugins: dict[str, DiskPlugin] = {}
    ignored: list[str] = []
    if not plugins_dir.is_dir():
        return DiskScan(plugins, ignored)
    with os.scandir(plugins_dir) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                continue
            if not is_valid_plugin_id(entry.name):
                ignored.append(entry.name[:80])
                continue
            plugins[entry.name] = read_plugin(Path(entry.path), entry.name)
    return DiskScan(plugins, ignored)


def scan_one(plugins_dir: Path, plugin_id: str) -> DiskPlugin | None:
    """The plugin's folder as it is now, or ``None`` when it is not installed."""
    folder = plugins_dir / plugin_id
    if folder.is_symlink() or not folder.is_dir():
        return None
    return read_plugin(folder, plugin_id)


def read_plugin(folder: Path, plugin_id: str) -> DiskPlugin:
    record = read_record(folder)
    try:
        manifest = check_fields(read_json_file(folder / MANIFEST_FILE, MANIFEST_FILE))
    except PlugvisorError as exc:
        return DiskPlugin(plugin_id, None, exc.message, record)
    if manifest["id"] != plugin_id:
        return DiskPlugin(plugin_id, None, "manifest.json 'id' does not match its folder", record)
    return DiskPlugin(plugin_id, manifest, None, record)


def read_record(folder: Path) -> InstalledRecord | None:
    try:
        return InstalledRecord.from_dict(orjson.loads((folder / RECORD_FILE).read_bytes()))
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
