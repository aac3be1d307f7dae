"""Ids the user uninstalled, kept so the reconciler does not bring them back; cleared by a
later install."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import orjson
import structlog

from actors.damage import Damage, unusable_file
from actors.fsio import Syncer, atomic_write, dumps
from actors.timeutil import now_iso

log = structlog.get_logger(__name__)

TOMBSTONES_FILE = ".tombstones.json"
LOST_WITH_TOMBSTONES = (
    "the list of plugins you uninstalled: one still named in the configuration may be offered "
    "for reinstallation by reconciliation"
)


class Tombstones:
    """``plugins/.tombstones.json``: ``{"uninstalled": {plugin_id: time}}``; thread-safe."""

    def __init__(
        self, plugins_dir: Path, syncer: Syncer | None = None, damage: Damage | None = None
    ) -> None:
        self.path = plugins_dir / TOMBSTONES_FILE
        self._syncer = syncer
        self._damage = damage or Damage(plugins_dir.parent)
        self._lock = threading.Lock()
        self._ids: dict[str, str] | None = None

    def _loaded(self) -> dict[str, str]:
        if self._ids is None:
            found, why = self._read()
            if why is not None:  # never fatal: start empty, with the damaged file set aside
                self._damage.set_aside(self.path, why=why, lost=LOST_WITH_TOMBSTONES)
            self._ids = {str(k): str(v) for k, v in found.items()}
        return self._ids

    def _read(self) -> tuple[dict[str, Any], str | None]:
        """The ids on disk, or ``({}, why)`` when the file cannot be what it should be."""
        return read_tombstones(self.path)

    def reload(self) -> None:
        """Read the file again now (at start, by recovery); a damaged one is set aside."""
        with self._lock:
            self._ids = None
            self._loaded()

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


def read_tombstones(path: Path) -> tuple[dict[str, Any], str | None]:
    """``{plugin_id: time}`` from a tombstone file, or ``({}, why)`` when it is unusable."""
    why = unusable_file(path)
    if why is not None:
        return {}, why
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return {}, None
    except OSError as exc:
        return {}, f"cannot be read ({exc.strerror})"
    except orjson.JSONDecodeError:
        return {}, "is not valid JSON"
    found = data.get("uninstalled", {}) if isinstance(data, dict) else None
    if not isinstance(found, dict):
        return {}, "does not hold an 'uninstalled' object"
    return found, None


def uninstalled_ids(plugins_dir: Path) -> frozenset[str] | None:
    """Read only, for the reconciler: the ids uninstalled on purpose, ``None`` when unreadable.

    Never sets the file aside: that is for the installer, the file's owner, when it loads it.
    """
    found, why = read_tombstones(plugins_dir / TOMBSTONES_FILE)
    return None if why is not None else frozenset(str(pid) for pid in found)
