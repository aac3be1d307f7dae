"""What is on disk: each ``plugins/<id>/manifest.json``, parsed, or the reason it could not be."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from actors.plugin_ids import is_valid_plugin_id

MAX_MANIFEST_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class DiskPlugin:
    plugin_id: str
    manifest: dict[str, Any] | None  # None when ``error`` says why it is unusable
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DiskScan:
    plugins: dict[str, DiskPlugin]
    ignored: list[str]  # directories whose name is no valid plugin id


def scan_plugins(plugins_dir: Path) -> DiskScan:
    """Every plugin directory (dot-entries skipped, invalid names reported as ignored)."""
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
            plugins[entry.name] = read_manifest(entry.name, Path(entry.path) / "manifest.json")
    return DiskScan(plugins, ignored)


def read_manifest(plugin_id: str, path: Path) -> DiskPlugin:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_MANIFEST_BYTES + 1)
    except FileNotFoundError:
        return DiskPlugin(plugin_id, None, "manifest.json is missing")
    except OSError as exc:
        return DiskPlugin(plugin_id, None, f"manifest.json cannot be read ({exc.strerror})")
    if len(raw) > MAX_MANIFEST_BYTES:
        return DiskPlugin(plugin_id, None, "manifest.json is larger than 1 MiB")
    try:
        manifest = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return DiskPlugin(plugin_id, None, "manifest.json is not valid JSON")
    if not isinstance(manifest, dict):
        return DiskPlugin(plugin_id, None, "manifest.json is not a JSON object")
    if manifest.get("id", plugin_id) != plugin_id:
        return DiskPlugin(plugin_id, None, "manifest.json 'id' does not match the directory name")
    if not isinstance(manifest.get("version", ""), str):
        return DiskPlugin(plugin_id, None, "manifest.json 'version' is not a string")
    return DiskPlugin(plugin_id, manifest)
