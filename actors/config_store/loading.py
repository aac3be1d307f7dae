"""Loading the live pair with its fallbacks: live, else the newest valid backup, else defaults."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson
import structlog

from actors.damage import DAMAGED, damaged_reason, set_aside, unusable_file, unusable_folder
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
from .lost import lost_event, lost_reason

log = structlog.get_logger(__name__, actor="config_store")

LOST = "lost"  # the set-aside label of a secrets file whose configuration is gone
BACKUP_FILE = re.compile(r"^\d{1,20}-\d{1,12}(\.secrets)?\.json$")

# Validates the system keys of a config (``SystemSchemas.main_errors``): [] when they are fine.
SystemCheck = Callable[[dict[str, Any]], list[dict[str, str]]]
# Names system keys with the schemas they are checked against (``SystemSchemas.stamp``).
SystemStamp = Callable[[dict[str, Any]], str]
MAX_VERIFIED = 32  # stamps remembered as checked in this process
# Signs outside config/ that the device was used before (``lost.signs_of_use``).
PriorUse = Callable[[], list[str]]


class Corrupt(Exception):
    """A config or backup that cannot be used; the message says why (no path, no content)."""


@dataclass(slots=True)
class Loaded:
    snapshot: Snapshot
    source: str  # "live", "defaults" or "backup:<id>"
    reasons: list[HealthReason] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # ``config`` events for history


def _parse_object(raw: bytes, name: str) -> dict[str, Any]:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Corrupt(f"{name} is not valid JSON (torn or damaged)") from None
    if not isinstance(doc, dict):
        raise Corrupt(f"{name} is not a JSON object")
    return doc


def system_keys(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc[k] for k in sorted(RESERVED_CONFIG_KEYS) if k in doc}


def _unreadable(path: Path, exc: OSError | Corrupt) -> str:
    """Why a live file could not be read, worded to follow its name."""
    if isinstance(exc, Corrupt):
        return str(exc).removeprefix(f"{path.name} ")
    return unusable_file(path) or f"is unreadable ({exc.strerror})"


def _generation(meta: Any, key: str, name: str) -> int:
    value = meta.get(key) if isinstance(meta, dict) else None
    if type(value) is not int or value < 0:
        raise Corrupt(f"{name} has a malformed generation marker")
    return value


class ConfigFiles(PairFiles):
    """The live pair as the config store uses it: loaded with fallbacks, committed (commit.py)."""

    def __init__(
        self,
        folder: Path,
        *,
        syncer: Syncer,
        check_system: SystemCheck,
        defaults_path: Path,
        prior_use: PriorUse = list,
        stamp_system: SystemStamp | None = None,
    ) -> None:
        super().__init__(folder, syncer=syncer)
        self._check_system = check_system
        self._stamp_system = stamp_system
        self._verified: set[str] = set()  # stamps whose system keys passed the check
        self._defaults_path = defaults_path
        self._prior_use = prior_use
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
        system = system_keys(doc)
        stamp = meta.get("checked") if isinstance(meta, dict) else None
        if stamp is None or self._stamp_system is None or stamp != self._stamp_system(system):
            errors = self._check_system(system)
            if errors:
                first = errors[0]
                raise Corrupt(
                    f"{name} is not a valid configuration ({first['path']}: {first['message']})"
                )
        elif len(self._verified) < MAX_VERIFIED:  # the stamp matches: checked when written
            self._verified.add(stamp)
        self._max_generation = max(self._max_generation, generation, secrets_generation)
        return doc, generation, secrets_generation

    def checked_stamp(self, config: dict[str, Any]) -> str | None:
        """The stamp of ``config``'s system keys if they pass the check (run unless this
        process saw them pass), else None: config.json carries it, so the next load of
        unchanged keys against unchanged schemas needs no validator."""
        if self._stamp_system is None:
            return None
        system = system_keys(config)
        stamp = self._stamp_system(system)
        if stamp not in self._verified:
            if self._check_system(system):
                return None
            if len(self._verified) >= MAX_VERIFIED:
                self._verified.clear()
            self._verified.add(stamp)
        return stamp

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
        reasons: list[HealthReason] = []
        self._prepare(reasons)
        backup_ids = self.backups.ids()
        if backup_ids:
            self._max_generation = max(self._max_generation, *(sort_key(i)[1] for i in backup_ids))
        if not self.config_path.exists() and not backup_ids:
            signs = self._signs_of_use()
            loaded = self._lost(signs) if signs else Loaded(self._install_defaults(), "defaults")
        else:
            loaded = self._load_existing(backup_ids, reasons)
        loaded.reasons[:0] = reasons
        self.reasons.extend(loaded.reasons)
        return loaded

    def _prepare(self, reasons: list[HealthReason]) -> None:
        """Folders made, debris removed; anything standing where a file should be is set aside."""
        why = unusable_folder(self.folder)
        if why is not None:
            lost = "the configuration the folder held, if any (the other reasons say what is used)"
            self._aside_damaged(self.folder, why, lost, reasons)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._live_trusted = True  # every way out of load leaves the files matching memory
        remove_stale_temps(self.folder)
        why = unusable_folder(self.backups.folder)
        if why is not None:
            lost = "the configuration backups (the next save starts new ones)"
            self._aside_damaged(self.backups.folder, why, lost, reasons)
        self.backups.prepare()
        for entry in sorted(self.backups.folder.iterdir()):
            why = unusable_file(entry) if BACKUP_FILE.fullmatch(entry.name) else None
            if why is not None:
                lost = "that backup (the other backups are kept)"
                self._aside_damaged(entry, why, lost, reasons)

    def _load_existing(self, backup_ids: list[str], reasons: list[HealthReason]) -> Loaded:
        try:
            config, generation, secrets_gen = self.parse_config(self.config_path.read_bytes())
            secrets = self._secrets_for(secrets_gen, backup_ids, reasons)
            return Loaded(Snapshot(config, secrets, generation, secrets_gen), "live")
        except FileNotFoundError:
            why = "config.json is missing"
        except (OSError, Corrupt) as exc:
            why = (
                str(exc)
                if isinstance(exc, Corrupt)
                else f"config.json {_unreadable(self.config_path, exc)}"
            )
        log.error("config_rejected", reason=why)
        rejected = [
            name for name in map(self._set_aside, (self.config_path, self.secrets_path)) if name
        ]
        kept = f"; the rejected files were kept as {', '.join(rejected)}" if rejected else ""
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
                remediation="Check the restored configuration" + kept,
            )
            return Loaded(snap, f"backup:{backup_id}", [reason])
        snap = self._install_defaults()
        log.error("config_reset_to_defaults", reason=why)
        reason = HealthReason(
            code="config_reset_to_defaults",
            message="No valid configuration or backup was found; the shipped defaults are in use",
            since=now_iso(),
            detail=why,
            remediation="Reconfigure the device"
            + (f", or repair {' and '.join(rejected)} and restore by hand" if rejected else ""),
            severity="unhealthy",
        )
        return Loaded(snap, "defaults", [reason])

    def _secrets_for(
        self, generation: int, backup_ids: list[str], reasons: list[HealthReason]
    ) -> dict[str, Any]:
        """The secrets ``generation`` names; a damaged live file is set aside and reported."""
        if generation == 0:  # leftovers of a first secrets save that never committed
            why = unusable_file(self.secrets_path)
            if why is not None:
                lost = "nothing: the configuration in use has no secrets"
                self._aside_damaged(self.secrets_path, why, lost, reasons)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.secrets_path)
            return {}
        damaged = None
        try:
            secrets, found = self._read_secrets(self.secrets_path, SECRETS_NAME)
        except FileNotFoundError:
            secrets, found = {}, None
        except (OSError, Corrupt) as exc:  # a folder, unreadable, or garbage: never fatal
            why = _unreadable(self.secrets_path, exc)
            aside = set_aside(self.secrets_path, DAMAGED, self._syncer)
            damaged = None if aside is None else (aside, why)
            secrets, found = {}, None

        def report(lost: str) -> None:
            if damaged is not None:
                reason = damaged_reason(
                    self.secrets_path,
                    damaged[0],
                    why=damaged[1],
                    lost=lost,
                    root=self.folder.parent,
                )
                log.error("config_secrets_set_aside", aside=damaged[0].name, why=damaged[1])
                reasons.append(reason)

        if generation in (LEGACY, found):
            report("the secret settings it held (API keys, passwords): enter them again")
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
                    report(f"nothing: the same secrets were restored from backup {backup_id}")
                    return twin
        report("its secrets, with the configuration naming them (see the next reason)")
        raise Corrupt(f"the secrets of generation {generation} are missing")

    def _set_aside(self, path: Path) -> str | None:
        """Keep a rejected live file for a person, as ``config/<name>.damaged-<time>``."""
        target = set_aside(path, DAMAGED, self._syncer)
        return None if target is None else f"config/{target.name}"

    def _aside_damaged(self, path: Path, why: str, lost: str, reasons: list[HealthReason]) -> None:
        aside = set_aside(path, DAMAGED, self._syncer)
        if aside is not None:
            log.error("config_file_set_aside", file=path.name, why=why, aside=aside.name)
            reasons.append(damaged_reason(path, aside, why=why, lost=lost, root=self.folder.parent))

    # --- a lost configuration: defaults, loudly (lost.py) ---------------------------------

    def _signs_of_use(self) -> list[str]:
        """Evidence that a configuration existed here before: [] on a first start."""
        signs = []
        if os.path.lexists(self.secrets_path):
            signs.append("a secrets file")
        with contextlib.suppress(OSError):
            if any(self.backups.folder.iterdir()):
                signs.append("files in config/backups")
        return signs + self._prior_use()

    def _lost(self, signs: list[str]) -> Loaded:
        """config.json and every backup are gone from a used device: defaults, never silently."""
        aside = set_aside(self.secrets_path, LOST, self._syncer)  # never paired with defaults
        shown = None if aside is None else f"config/{aside.name}"
        snap = self._install_defaults()
        log.error("config_lost", signs=signs, secrets_set_aside=shown)
        return Loaded(
            snap,
            "defaults",
            [lost_reason(signs, shown)],
            [lost_event(signs, shown, snap.generation)],
        )

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
        atomic_write(
            self.config_path,
            encode_config(snap, self.checked_stamp(snap.config)),
            syncer=self._syncer,
        )

    def _install_defaults(self) -> Snapshot:
        defaults = _parse_object(self._defaults_path.read_bytes(), "default config")
        snap = Snapshot(defaults, {}, self._max_generation + 1, 0)
        stamp = self.checked_stamp(snap.config)
        atomic_write(self.config_path, encode_config(snap, stamp), syncer=self._syncer)
        self._max_generation = snap.generation
        log.info("config_defaults_installed", generation=snap.generation)
        return snap
