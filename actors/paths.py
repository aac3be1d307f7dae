"""Where everything lives under ``--data-dir``; each folder has exactly one owning actor."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from actors.damage import Damage, unusable_folder

# What a file standing where one of the folders should be takes with it when it is set aside.
_LOST_WITH_FOLDER = {
    "config": "the configuration that was in the folder (the config store reports what it uses)",
    "plugins": "the installed plugins' files (they show as missing until installed again)",
    "state": "the plugins' run-time state (rebuilt from the configuration and plugins/)",
    "history": "the operation history recorded before",
    "journal": "the operation journal (operations in flight can no longer be marked interrupted)",
    "tmp": "nothing: tmp/ only holds staging work",
    "cache": "the cached registry copy (fetched again once the registry is reachable)",
    "health": "the plugins' circuit breakers and counters (they start afresh as unknown)",
    "reconcile": "the reconciler's reinstall attempt counts (each plugin gets its budget again)",
}


@dataclass(frozen=True, slots=True)
class DataPaths:
    root: Path

    @property
    def config_dir(self) -> Path:  # owner: config store
        return self.root / "config"

    @property
    def plugins_dir(self) -> Path:  # owner: installer (driven by the queue)
        return self.root / "plugins"

    @property
    def state_dir(self) -> Path:  # owner: state actor
        return self.root / "state"

    @property
    def history_dir(self) -> Path:  # owner: history actor
        return self.root / "history"

    @property
    def journal_dir(self) -> Path:  # owner: queue actor
        return self.root / "journal"

    @property
    def tmp_dir(self) -> Path:  # staging, same filesystem as plugins/
        return self.root / "tmp"

    @property
    def cache_dir(self) -> Path:  # owner: catalog actor (the registry's copy)
        return self.root / "cache"

    @property
    def health_dir(self) -> Path:  # owner: health actor (plugin circuit breakers)
        return self.root / "health"

    @property
    def reconcile_dir(self) -> Path:  # owner: reconciler (its reinstall attempt budget)
        return self.root / "reconcile"

    @property
    def auth_dir(self) -> Path:  # owner: token keeper (the API token file; made 0700 on need)
        return self.root / "auth"

    def ensure(self, damage: Damage | None = None) -> None:
        """Create every folder; a file standing in for one is set aside, reported in ``damage``."""
        damage = damage or Damage(self.root)
        for folder in (
            self.config_dir,
            self.plugins_dir,
            self.state_dir,
            self.history_dir,
            self.journal_dir,
            self.tmp_dir,
            self.cache_dir,
            self.health_dir,
            self.reconcile_dir,
        ):
            why = unusable_folder(folder)
            if why is not None:
                damage.set_aside(folder, why=why, lost=_LOST_WITH_FOLDER[folder.name])
            folder.mkdir(parents=True, exist_ok=True)
