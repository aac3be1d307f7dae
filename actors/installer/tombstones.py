"""Ids the user uninstalled, kept for the reconciler to come (so it does not bring them back);
cleared by a later install."""

from __future__ import annotations

import threading
from pathlib import Path

import orjson
import structlog

from actors.fsio import Syncer, atomic_write, dumps
from actors.timeutil import now_iso

log = structlog.get_logger(__name__)

TOMBSTONES_FILE = ".tombstones.json"


class Tombstones:
    """``plugins/.tombstones.json``: ``{"uninstalled": {plugin_id: time}}``; thread-safe."""

    def __init__(self, plugins_dir: Path, syncer: Syncer | None = None) -> None:
        self.path = plugins_dir / TOMBSTONES_FILE
        self._syncer = syncer
        self._lock = threading.Lock()
        self._ids: dict[str, str] | None = None

    def _loaded(self) -> dict[str, str]:
        if self._ids is None:
            try:
                data = orjson.loads(self.path.read_bytes())
                found = data.get("uninstalled", {}) if isinstance(data, dict) else {}
                self._ids = (
                    {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}
                )
            except FileNotFoundError:
                self._ids = {}
            except (OSError, orjson.JSONDecodeError):
                log.warning("tombstones_unreadable_starting_empty")
                self._ids = {}
        return self._ids

    def reload(self) -> None:
        """Forget the copy in memory; the next read comes from disk."""
        with self._lock:
            self._ids = None

    def contains(self, plugin_id: str) -> bool:
        with self._lock:
            return plugin_id in self._loaded()

    def set(self, plugin_id: str, present: bool) -> None:
        """Add or clear ``plugin_id``; writes (atomically, durably) only when it changes."""
        with self._lock:
            ids = dict(self._loaded())
            if present == (plugin_id in ids):
                return
            if present:
                ids[plugin_id] = now_iso()
            else:
                del ids[plugin_id]
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(
                self.path, dumps({"uninstalled": dict(sorted(ids.items()))}), syncer=self._syncer
            )
            self._ids = ids
