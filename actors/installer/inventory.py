"""What is installed in plugins/: listing, manifests, and the install record in each plugin."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import structlog

from actors.errors import ErrorCode, PlugvisorError
from actors.fsio import Syncer, atomic_write, dumps
from actors.installer.landing import Lander, Workspace
from actors.installer.manifest import (
    MANIFEST_FILE,
    check_fields,
    read_json_file,
    verify_plugin_tree,
)
from actors.installer.results import RECORD_FILE, InstalledRecord, PluginSource
from actors.paths import DataPaths
from actors.plugin_ids import is_valid_plugin_id
from actors.timeutil import now_iso

log = structlog.get_logger(__name__)

__all__ = ["RECORD_FILE", "Inventory"]


class Inventory:
    """Blocking helpers over plugins/; the installer calls them through worker threads."""

    def __init__(self, paths: DataPaths, lander: Lander, syncer: Syncer | None = None) -> None:
        self.paths = paths
        self.lander = lander
        self.syncer = syncer

    def installed_ids(self) -> list[str]:
        folder = self.paths.plugins_dir
        if not folder.is_dir():
            return []
        return sorted(
            entry.name
            for entry in os.scandir(folder)
            if not entry.name.startswith(".")
            and is_valid_plugin_id(entry.name)
            and entry.is_dir(follow_symlinks=False)
        )

    def _folder(self, plugin_id: str) -> Path:
        target = self.lander.target(plugin_id)
        if not target.is_dir():
            raise PlugvisorError(
                ErrorCode.PLUGIN_NOT_FOUND, f"Plugin '{plugin_id}' is not installed"
            )
        return target

    def read_manifest(self, plugin_id: str) -> dict[str, Any]:
        folder = self._folder(plugin_id)
        try:
            return check_fields(read_json_file(folder / MANIFEST_FILE, MANIFEST_FILE))
        except PlugvisorError as exc:
            raise PlugvisorError(
                ErrorCode.VALIDATION_ERROR,
                f"Plugin '{plugin_id}': {exc.message}",
                context=exc.context,
            ) from None

    def read_record(self, plugin_id: str) -> InstalledRecord | None:
        """The plugin's install record; ``None`` when absent, unreadable or not installed."""
        path = self.paths.plugins_dir / plugin_id / RECORD_FILE
        try:
            return InstalledRecord.from_dict(orjson.loads(path.read_bytes()))
        except FileNotFoundError:
            return None
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            log.warning("install_record_unreadable", plugin_id=plugin_id)
            return None

    def landed_by(self, operation_id: str) -> str | None:
        """The installed plugin whose copy ``operation_id`` landed, if any."""
        for plugin_id in self.installed_ids():
            record = self.read_record(plugin_id)
            if record is not None and record.operation_id == operation_id:
                return plugin_id
        return None

    def require_record(self, plugin_id: str) -> InstalledRecord:
        self._folder(plugin_id)
        record = self.read_record(plugin_id)
        if record is None:
            raise PlugvisorError(
                ErrorCode.PLUGIN_UPDATE_FAILED,
                f"Plugin '{plugin_id}' has no install record, so its source is unknown",
            )
        return record

    def verify(self, root: Path, core_version: str) -> dict[str, Any]:
        return verify_plugin_tree(root, core_version)

    def stage(self, root: Path, ws: Workspace) -> None:
        """Move the verified tree to ``ws.tree``, where it waits to land."""
        if root != ws.tree:
            os.rename(root, ws.tree)

    def write_record(
        self,
        ws: Workspace,
        plugin_id: str,
        version: str,
        source: PluginSource,
        operation_id: str | None = None,
    ) -> InstalledRecord | None:
        """Write the install record into ``ws.tree``; return the installed copy's record, if any.

        The first install time carries over from the copy being replaced; ``operation_id``
        names the operation landing this copy, so a restart can tell whether it landed.
        """
        previous = self.read_record(plugin_id)
        now = now_iso()
        record = InstalledRecord(
            plugin_id,
            version,
            previous.installed_at if previous else now,
            now,
            source,
            operation_id,
        )
        atomic_write(ws.tree / RECORD_FILE, dumps(record.to_dict()), mode=0o600, syncer=self.syncer)
        return previous

    def check_landed(self, plugin_id: str, version: str) -> None:
        """The copy now in plugins/ is the one just verified."""
        manifest = read_json_file(self.paths.plugins_dir / plugin_id / MANIFEST_FILE, MANIFEST_FILE)
        record = self.read_record(plugin_id)
        if not isinstance(manifest, dict) or manifest.get("id") != plugin_id or record is None:
            raise PlugvisorError(ErrorCode.PLUGIN_INSTALL_FAILED, "The landed copy does not match")
        if manifest.get("version") != version:
            raise PlugvisorError(
                ErrorCode.PLUGIN_INSTALL_FAILED, "The landed copy has another version"
            )
