"""Loading the live pair with its fallbacks: live, else the newest valid backup, else defaults."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson
import structlog

from actors.fsio import Syncer, atomic_write, remove_stale_temps
from actors.health_reasons import HealthReason
from actors.plugin_ids import RESERVED_CONFIG_KEYS
from actors.timeutil import now_iso

from .backups import BackupInfo, created_at, sort_key
from .commit import (
    CONFIG_NAME,
    LEGACY,
    META,
    SECRETS_NAME,
    PairFiles,
    Snapshot,
    encode_config,
    encode_secrets,
)

log = structlog.get_logger(__name__, actor="config_store")

REJECTED_SUFFIX = ".rejected"

# Validates the system keys of a config (``SystemSchemas.main_errors``): [] when they are fine.
SystemCheck = Callable[[dict[str, Any]], list[dict[str, str]]]


class Corrupt(Exception):
    """A config or backup that cannot be used; the message says why (no path, no content)."""


@dataclass(slots=True)
class Loaded:
    snapshot: Snapshot
    source: str  # "live", "defaults" or "backup:<id>"
    reasons: list[HealthReason] = field(default_factory=list)


def _parse_object(raw: bytes, name: str) -> dict[str, Any]:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Corrupt(f"{name} is not valid JSON (torn or damaged)") from None
    if not isinstance(doc, dict):
        raise Corrupt(f"{name} is not a JSON object")
    return doc


def _generation(meta: Any, key: str, name: str) -> int:
    value = meta.get(key) if isinstance(meta, dict) else None
    if type(value) is not int or value < 0:
        raise Corrupt(f"{name} has a malformed generation marker")
    return value


class ConfigFiles(PairFiles):
    """The live pair as the config store uses it: loaded with fallbacks, committed (commit.py)."""

    def __init__(
        self, folder: Path, *, syncer: Syncer, check_system: SystemCheck, defaults_path: Path
    ) -> None:
        super().__init__(folder, syncer=syncer)
        self._check_system = check_system
        self._defaults_path = defaults_path
        self.reasons: list[HealthReason] = []  # kept across actor restarts: the files outlive them

    # --- reading -----------------------------------------------------------------------

    def parse_config(self, raw: bytes, name: str = CONFIG_NAME) -> tuple[dict, int, int]:
        doc = _parse_object(raw, name)
        meta = doc.pop(META, None)
        if meta is None:
            generation, secrets_generation = 0, LEGACY
        else:
            generation = _generation(meta, "generation", name)
            secrets_generation = _generation(meta, "secrets_generation", name)
        errors = self._check_system({k: doc[k] for k in sorted(RESERVED_CONFIG_KEYS) if k in doc})
        if errors:
            first = errors[0]
            raise Corrupt(
                f"{name} is not a valid configuration ({first['path']}: {first['message']})"
            )
        self._max_generation = max(self._max_generation, generation, secrets_generation)
        return doc, generation, secrets_generation

    def _read_secrets(self, path: Path, name: str) -> tuple[dict, int | None]:
        doc = _parse_object(path.read_bytes(), name)
        meta = doc.pop(META, None)
        generation = None if meta is None else _generation(meta, "generation", name)
        if generation is not None:
            self._max_generation = max(self._max_generation, generation)
        return doc, generation

    def read_backup(self, backup_id: str) -> Snapshot:
        """That backup and its secrets twin; ``FileNotFoundError`` or ``Corrupt``."""
        config_path, twin = self.backups.paths(backup_id)
        config, generation, secrets_gen = self.parse_config(config_path.read_bytes(), "backup")
        secrets: dict[str, Any] = {}
        if secrets_gen != 0:
            try:
                secrets, twin_gen = self._read_secrets(twin, "backup secrets")
            except FileNotFoundError:
                if secrets_gen != LEGACY:
                    raise Corrupt("the backup's secrets are missing") from None
            else:
                if secrets_gen != LEGACY and twin_gen != secrets_gen:
                    raise Corrupt("the backup's secrets belong to another generation")
        return Snapshot(config, secrets, generation, secrets_gen)

    def list_backups(self) -> list[BackupInfo]:
        infos = []
        for backup_id in self.backups.ids():
            try:
                self.read_backup(backup_id)
                valid = True
            except (OSError, Corrupt):
                valid = False
            infos.append(
                BackupInfo(backup_id, created_at(backup_id), self.backups.size(backup_id), valid)
            )
        return infos

    # --- loading -------------------------------------------------------------------------

    def load(self) -> Loaded:
        """The newest complete pair: live, else the newest valid backup, else (loudly) defaults."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._live_trusted = True  # every way out of load leaves the files matching memory
        remove_stale_temps(self.folder)
        self.backups.prepare()
        backup_ids = self.backups.ids()
        if backup_ids:
            self._max_generation = max(self._max_generation, *(sort_key(i)[1] for i in backup_ids))
        if not self.config_path.exists() and not backup_ids:
            return Loaded(self._install_defaults(), "defaults")
        try:
            config, generation, secrets_gen = self.parse_config(self.config_path.read_bytes())
            secrets = self._secrets_for(secrets_gen, backup_ids)
            return Loaded(Snapshot(config, secrets, generation, secrets_gen), "live")
        except FileNotFoundError:
            why = "config.json is missing"
        except (OSError, Corrupt) as exc:
            why = (
                str(exc)
                if isinstance(exc, Corrupt)
                else f"config.json is unreadable ({exc.strerror})"
            )
        log.error("config_rejected", reason=why)
        rejected = self._set_aside(self.config_path)
        self._set_aside(self.secrets_path)
        for backup_id in backup_ids:
            try:
                snap = self.read_backup(backup_id)
            except (OSError, Corrupt) as exc:
                log.warning("backup_rejected", backup_id=backup_id, reason=str(exc))
                continue
            # a new generation: numbers seen in the rejected file are never reused
            snap = replace(snap, generation=self._max_generation + 1)
            self._restore_live(snap)
            self._max_generation = snap.generation
            log.warning(
                "config_restored_from_backup", backup_id=backup_id, generation=snap.generation
            )
            reason = HealthReason(
                code="config_restored_from_backup",
                message="The configuration could not be loaded and was restored from backup "
                + backup_id,
                since=now_iso(),
                detail=why,
                remediation="Check the restored configuration"
                + (f"; the rejected file was kept as config/{rejected}" if rejected else ""),
            )
            self.reasons.append(reason)
            return Loaded(snap, f"backup:{backup_id}", [reason])
        snap = self._install_defaults()
        log.error("config_reset_to_defaults", reason=why)
        reason = HealthReason(
            code="config_reset_to_defaults",
            message="No valid configuration or backup was found; the shipped defaults are in use",
            since=now_iso(),
            detail=why,
            remediation="Reconfigure the device"
            + (f", or repair config/{rejected} and restore it by hand" if rejected else ""),
            severity="unhealthy",
        )
        self.reasons.append(reason)
        return Loaded(snap, "defaults", [reason])

    def _secrets_for(self, generation: int, backup_ids: list[str]) -> dict[str, Any]:
        if generation == 0:  # leftovers of a first secrets save that never committed
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.secrets_path)
            return {}
        try:
            secrets, found = self._read_secrets(self.secrets_path, SECRETS_NAME)
        except (FileNotFoundError, Corrupt) as exc:
            if generation == LEGACY:
                if isinstance(exc, FileNotFoundError):
                    return {}
                raise
            secrets, found = {}, None
        if generation in (LEGACY, found):
            return secrets
        for backup_id in backup_ids:  # a save died between its two renames: take the twin
            with contextlib.suppress(OSError, Corrupt):
                twin, twin_gen = self._read_secrets(self.backups.paths(backup_id)[1], "twin")
                if twin_gen == generation:
                    atomic_write(
                        self.secrets_path,
                        encode_secrets(twin, generation),
                        mode=0o600,
                        syncer=self._syncer,
                    )
                    log.warning("secrets_recovered_from_backup", backup_id=backup_id)
                    return twin
        raise Corrupt(f"the secrets of generation {generation} are missing")

    def _set_aside(self, path: Path) -> str | None:
        target = path.with_name(path.name + REJECTED_SUFFIX)
        try:
            os.replace(path, target)
        except FileNotFoundError:
            return None
        self._syncer.fsync_dir(self.folder)
        return target.name

    def _restore_live(self, snap: Snapshot) -> None:
        if snap.secrets_generation != 0:
            atomic_write(
                self.secrets_path,
                encode_secrets(snap.secrets, snap.secrets_generation),
                mode=0o600,
                syncer=self._syncer,
            )
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.secrets_path)
        atomic_write(self.config_path, encode_config(snap), syncer=self._syncer)

    def _install_defaults(self) -> Snapshot:
        defaults = _parse_object(self._defaults_path.read_bytes(), "default config")
        snap = Snapshot(defaults, {}, self._max_generation + 1, 0)
        atomic_write(self.config_path, encode_config(snap), syncer=self._syncer)
        self._max_generation = snap.generation
        log.info("config_defaults_installed", generation=snap.generation)
        return snap
