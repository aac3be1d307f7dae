"""``state/plugin_state.json``: the observations only the state holds, replaced on change.

Format 2: ``{"version": 2, "plugins": {plugin_id: {last_operation_id, last_error}}}``. A
format-1 file (whole states) is read for those two facts and rewritten at the next change.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import structlog

from actors.fsio import Syncer, atomic_write, dumps, remove_stale_temps
from actors.plugin_ids import is_valid_plugin_id
from actors.state.model import Observed
from actors.timeutil import now_iso, utc_now

log = structlog.get_logger(__name__, actor="state")

FILE_NAME = "plugin_state.json"
FORMAT_VERSION = 2


@dataclass(slots=True)
class Loaded:
    """What start-up found; for a damaged file, the problem and where its copy went."""

    observed: dict[str, Observed] = field(default_factory=dict)
    found: bool = False  # False: there was no file (a first start, or it was lost)
    problem: str | None = None
    kept_as: str | None = None
    outdated: bool = False  # an older format: rewrite it


class StateFile:
    def __init__(self, folder: Path, syncer: Syncer | None = None) -> None:
        self.folder = folder
        self.path = folder / FILE_NAME
        self.syncer = syncer or Syncer()

    def load(self) -> Loaded:
        """Read the file; a damaged file (or entry) is copied aside and reported, never fatal."""
        self.folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(self.folder)
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return Loaded()
        except OSError as exc:  # a folder where the file should be, an unreadable file
            loaded = Loaded(found=True, problem=f"unreadable file ({exc.strerror})")
            loaded.kept_as = self._set_aside()
            return loaded
        loaded = Loaded(found=True)
        try:
            entries, loaded.outdated = _entries(orjson.loads(raw))
        except (orjson.JSONDecodeError, TypeError, KeyError) as exc:
            loaded.problem = f"unreadable file ({type(exc).__name__})"
            entries = {}
        bad = []
        for plugin_id, entry in entries.items():
            try:
                if not is_valid_plugin_id(plugin_id):
                    raise ValueError("invalid plugin id")
                loaded.observed[plugin_id] = Observed.from_dict(entry)
            except ValueError as exc:
                bad.append(f"{plugin_id[:80]!r}: {exc}")
        if bad:
            loaded.problem = f"{len(bad)} invalid entries dropped ({'; '.join(bad[:5])})"
        if loaded.problem:
            loaded.kept_as = self._keep_aside(raw)
            log.error("state_file_corrupt", problem=loaded.problem, kept_as=loaded.kept_as)
        return loaded

    def save(self, observed: dict[str, Observed]) -> None:
        document = {
            "version": FORMAT_VERSION,
            "plugins": {pid: observed[pid].to_dict() for pid in sorted(observed)},
            "last_updated": now_iso(),
        }
        atomic_write(self.path, dumps(document), syncer=self.syncer)

    def _aside_name(self, tag: str) -> Path:
        stamp = utc_now().strftime("%Y%m%dT%H%M%S")
        for n in itertools.count():
            aside = self.path.with_name(f"{FILE_NAME}.{tag}-{stamp}" + (f"-{n}" if n else ""))
            if not aside.exists():
                return aside
        raise AssertionError("unreachable")

    def _keep_aside(self, raw: bytes) -> str:
        aside = self._aside_name("corrupt")
        atomic_write(aside, raw, mode=0o600, syncer=self.syncer)
        return aside.name

    def _set_aside(self) -> str:
        aside = self._aside_name("damaged")
        self.path.rename(aside)
        self.syncer.fsync_dir(self.folder)
        log.error("state_file_set_aside", kept_as=aside.name)
        return aside.name


def _entries(document: Any) -> tuple[dict[str, Any], bool]:
    """The per-plugin entries and whether the document is of an older format."""
    if not isinstance(document, dict):
        raise TypeError("the file is not an object")
    if "plugins" in document:
        entries = document["plugins"]
        outdated = False
    else:  # format 1 kept whole states; its observations are all we still need
        entries = {
            plugin_id: {
                "last_operation_id": state.get("last_operation_id"),
                "last_error": (state.get("metadata") or {}).get("last_error"),
            }
            for plugin_id, state in document["states"].items()
            if isinstance(state, dict)
        }
        outdated = True
    if not isinstance(entries, dict):
        raise TypeError("'plugins' is not an object")
    return entries, outdated
