"""Where everything lives under ``--data-dir``; each folder has exactly one owning actor."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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

    def ensure(self) -> None:
        for folder in (
            self.config_dir,
            self.plugins_dir,
            self.state_dir,
            self.history_dir,
            self.journal_dir,
            self.tmp_dir,
            self.cache_dir,
        ):
            folder.mkdir(parents=True, exist_ok=True)
