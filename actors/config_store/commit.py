"""The live pair's commit protocol: config.json is the commit record naming its secrets."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from actors.errors import ErrorCode
from actors.fsio import Syncer, dumps, storage_error, write_temp

from .backups import Backups

log = structlog.get_logger(__name__, actor="config_store")

META = "_plugvisor"
CONFIG_NAME = "config.json"
SECRETS_NAME = "config_secrets.json"
LEGACY = -1  # secrets generation of a config.json written without a marker


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One durable generation. Treated as immutable: changes build new dicts, never edit these."""

    config: dict[str, Any]
    secrets: dict[str, Any]
    generation: int
    secrets_generation: int  # 0: no secrets file; LEGACY: unknown, rewrite at the next save


def encode_config(snap: Snapshot, checked: str | None = None) -> bytes:
    """config.json's bytes; ``checked``: the stamp of its system keys, when they passed the
    schema check (``ConfigFiles.checked_stamp``)."""
    marker: dict[str, Any] = {
        "generation": snap.generation,
        "secrets_generation": snap.secrets_generation,
    }
    if checked is not None:
        marker["checked"] = checked
    return dumps({META: marker, **snap.config})


def encode_secrets(secrets: dict[str, Any], generation: int) -> bytes:
    return dumps({META: {"generation": generation}, **secrets})


class PairFiles:
    """The live pair (config.json, config_secrets.json) and its commits; loading.py reads it."""

    def __init__(self, folder: Path, *, syncer: Syncer) -> None:
        self.folder = folder
        self.config_path = folder / CONFIG_NAME
        self.secrets_path = folder / SECRETS_NAME
        self.backups = Backups(folder / "backups", syncer)
        self._syncer = syncer
        self._max_generation = 0
        self._live_trusted = True  # False after a commit failed half-way through its renames

    def checked_stamp(self, config: dict[str, Any]) -> str | None:
        """The stamp written with ``config`` (see ``loading.ConfigFiles``); here none."""
        return None

    @property
    def max_generation(self) -> int:
        """The highest generation ever seen or written here: the next commit goes above it."""
        return self._max_generation

    def commit(
        self,
        current: Snapshot,
        config: dict[str, Any],
        secrets: dict[str, Any],
        keep: int,
        generation: int | None = None,
    ) -> tuple[Snapshot, str | None]:
        """Make (config, secrets) durable as the next generation, after backing up ``current``.

        On failure the previous pair is still the one on disk (a failure during the renames
        themselves is repaired by the next commit, which then trusts memory over the files).
        """
        generation = generation or self._max_generation + 1
        if generation <= self._max_generation:
            raise ValueError(f"generation {generation} is not above {self._max_generation}")
        write_secrets = secrets != current.secrets or current.secrets_generation == LEGACY
        if not self._live_trusted and current.secrets_generation != 0:
            write_secrets = True
        secrets_gen = generation if write_secrets else current.secrets_generation
        snap = Snapshot(config, secrets, generation, secrets_gen)
        backup_id = self.backups.new_id(current.generation)
        created: list[Path] = []
        temps: list[tuple[Path, Path]] = []
        try:
            if self._live_trusted:
                has_secrets = current.secrets_generation != 0 and self.secrets_path.exists()
                created = self.backups.link(
                    backup_id, self.config_path, self.secrets_path if has_secrets else None
                )
            else:
                old_secrets = None
                if current.secrets_generation != 0:
                    old_secrets = encode_secrets(current.secrets, current.secrets_generation)
                created = self.backups.write(
                    backup_id,
                    encode_config(current, self.checked_stamp(current.config)),
                    old_secrets,
                )
            if write_secrets:
                data = encode_secrets(secrets, secrets_gen)
                temps.append(
                    (write_temp(self.secrets_path, data, 0o600, self._syncer), self.secrets_path)
                )
            temps.append(
                (
                    write_temp(
                        self.config_path,
                        encode_config(snap, self.checked_stamp(config)),
                        0o644,
                        self._syncer,
                    ),
                    self.config_path,
                )
            )
            self.backups.sync()
        except OSError as exc:
            self.backups.discard(created)
            self.backups.discard(temp for temp, _ in temps)
            raise storage_error(
                exc, ErrorCode.CONFIG_SAVE_FAILED, "save the configuration"
            ) from None
        try:
            for temp, target in temps:
                os.replace(temp, target)
            self._syncer.fsync_dir(self.folder)
        except OSError as exc:
            self._live_trusted = False
            self.backups.discard(temp for temp, _ in temps)
            raise storage_error(
                exc, ErrorCode.CONFIG_SAVE_FAILED, "save the configuration"
            ) from None
        self._live_trusted = True
        self._max_generation = generation
        removed = self.backups.rotate(keep)
        log.debug(
            "config_committed",
            generation=generation,
            secrets_written=write_secrets,
            backup_id=backup_id,
            rotated=len(removed),
        )
        return snap, backup_id
