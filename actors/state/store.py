"""The state file ``state/plugin_state.json``: loaded at start, replaced atomically on change."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import structlog

from actors.fsio import Syncer, atomic_write, dumps, remove_stale_temps
from actors.plugin_ids import is_valid_plugin_id
from actors.state.model import PluginState
from actors.timeutil import now_iso, utc_now

log = structlog.get_logger(__name__, actor="state")

FILE_NAME = "plugin_state.json"
FORMAT_VERSION = 1


@dataclass(slots=True)
class Loaded:
    """What start-up found: the states; for a damaged file, the problem and where its copy went."""

    states: dict[str, PluginState] = field(default_factory=dict)
    problem: str | None = None
    kept_as: str | None = None


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
        loaded = Loaded()
        try:
            document = orjson.loads(raw)
            entries = document["states"]
            if not isinstance(entries, dict):
                raise TypeError("'states' is not an object")
        except (orjson.JSONDecodeError, TypeError, KeyError) as exc:
            loaded.problem = f"unreadable file ({type(exc).__name__})"
            entries = {}
        bad = []
        for plugin_id, entry in entries.items():
            try:
                if not is_valid_plugin_id(plugin_id):
                    raise ValueError("invalid plugin id")
                loaded.states[plugin_id] = PluginState.from_dict(plugin_id, entry)
            except ValueError as exc:
                bad.append(f"{plugin_id[:80]!r}: {exc}")
        if bad:
            loaded.problem = f"{len(bad)} invalid entries dropped ({'; '.join(bad[:5])})"
        if loaded.problem:
            loaded.kept_as = self._keep_aside(raw)
            log.error("state_file_corrupt", problem=loaded.problem, kept_as=loaded.kept_as)
        return loaded

    def save(self, states: dict[str, PluginState]) -> None:
        document = {
            "version": FORMAT_VERSION,
            "states": {plugin_id: states[plugin_id].to_dict() for plugin_id in sorted(states)},
            "last_updated": now_iso(),
        }
        atomic_write(self.path, dumps(document), syncer=self.syncer)

    def _keep_aside(self, raw: bytes) -> str:
        stamp = utc_now().strftime("%Y%m%dT%H%M%S")
        for n in itertools.count():
            aside = self.path.with_name(f"{FILE_NAME}.corrupt-{stamp}" + (f"-{n}" if n else ""))
            if not aside.exists():
                atomic_write(aside, raw, mode=0o600, syncer=self.syncer)
                return aside.name
        raise AssertionError("unreachable")
