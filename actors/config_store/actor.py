"""The config store actor, the only writer of ``<data-dir>/config/``; queued saves commit together.

Design notes: ``actors/config_store/README.md``.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson
import structlog

from actors.errors import ErrorCode, PlugvisorError, invalid_input
from actors.events import EventBus
from actors.fsio import Syncer
from actors.health_reasons import GetHealthReasons, HealthReason
from actors.paths import DataPaths
from actors.plugin_ids import validate_plugin_id
from actors.secret_values import SecretValues
from supervision import Actor, handles

from . import apply, flags
from .apply import SYSTEM_KEYS, Working
from .backups import BACKUP_ID, BackupInfo
from .batch import Item
from .commit import Snapshot
from .loading import ConfigFiles, Corrupt
from .lost import signs_of_use
from .messages import (
    SAVE_MESSAGES,
    ConfigView,
    EnsurePluginEntry,
    GetMainConfig,
    GetPluginConfig,
    GetPluginFlags,
    GetPluginSchema,
    GetSchedule,
    GetTokenFileSetting,
    ListBackups,
    PluginFlags,
    RestoreBackup,
    SavePluginConfig,
    SaveResult,
    SetPluginEnabled,
)
from .schemas import SHIPPED_CONFIG_DIR, PluginSchemas, SystemSchemas
from .validation import Checker

log = structlog.get_logger(__name__, actor="config_store")

DEFAULT_CONFIG = SHIPPED_CONFIG_DIR / "default_config.json"
_NEEDS_INSTALLED = (SavePluginConfig, SetPluginEnabled, EnsurePluginEntry)
_NEEDS_SCHEMA = (SavePluginConfig, EnsurePluginEntry)


def make_config_store(
    paths: DataPaths,
    bus: EventBus,
    *,
    syncer: Syncer | None = None,
    defaults_path: Path = DEFAULT_CONFIG,
    schemas_dir: Path = SHIPPED_CONFIG_DIR / "schemas",
    backups_keep: int = 5,
    batch_limit: int = 256,
    secrets: SecretValues | None = None,
) -> Callable[[], ConfigStore]:
    """The factory for a ``ChildSpec``: every incarnation shares the same files and schemas.

    ``secrets`` learns every secret value loaded or saved, for the log redactor."""
    system = SystemSchemas.load(schemas_dir)
    files = open_files(paths, system, syncer=syncer, defaults_path=defaults_path)
    plugins = PluginSchemas(paths.plugins_dir)
    return lambda: ConfigStore(
        files,
        plugins,
        system,
        bus,
        backups_keep=backups_keep,
        batch_limit=batch_limit,
        secrets=secrets,
    )


def open_files(
    paths: DataPaths,
    system: SystemSchemas,
    *,
    syncer: Syncer | None = None,
    defaults_path: Path = DEFAULT_CONFIG,
) -> ConfigFiles:
    """The files of ``config/``, checking system keys against the main schema when loading."""
    return ConfigFiles(
        paths.config_dir,
        syncer=syncer or Syncer(),
        check_system=system.main_errors,
        stamp_system=system.stamp,
        defaults_path=defaults_path,
        prior_use=lambda: signs_of_use(paths),
    )


class ConfigStore(Actor):
    def __init__(
        self,
        files: ConfigFiles,
        plugins: PluginSchemas,
        system: SystemSchemas,
        bus: EventBus,
        *,
        backups_keep: int = 5,
        batch_limit: int = 256,
        secrets: SecretValues | None = None,
    ) -> None:
        super().__init__()
        self._files = files
        self._plugins = plugins
        self._system = system
        self._bus = bus
        self._keep = backups_keep
        self._batch_limit = batch_limit
        self._snap: Snapshot | None = None
        self._secret_values = secrets if secrets is not None else SecretValues()

    async def started(self) -> None:
        loaded = await asyncio.to_thread(self._files.load)
        self._secret_values.add_leaves(loaded.snapshot.secrets)
        self._snap = loaded.snapshot
        log.info("config_loaded", source=loaded.source, generation=self._snap.generation)
        for event in loaded.events:  # what the loader had to do, for the history and the feed
            self._bus.publish("config", event)

    # --- reads ---------------------------------------------------------------------------

    @handles(GetPluginConfig)
    async def get_plugin_config(self, msg: GetPluginConfig) -> ConfigView:
        checker = await self._installed_checker(msg.plugin_id)
        work = Working.of(self._live())
        view = apply.plugin_view(work, msg.plugin_id, checker)
        return ConfigView(view, work.etag((msg.plugin_id,)))

    @handles(GetPluginSchema)
    async def get_plugin_schema(self, msg: GetPluginSchema) -> dict[str, Any]:
        return copy.deepcopy((await self._installed_checker(msg.plugin_id)).schema)

    @handles(GetMainConfig)
    def get_main_config(self, msg: GetMainConfig) -> ConfigView:
        work = Working.of(self._live())
        return ConfigView(apply.main_view(work, self._system), work.etag(SYSTEM_KEYS))

    @handles(GetTokenFileSetting)
    def get_token_file_setting(self, msg: GetTokenFileSetting) -> str | None:
        auth = self._live().config.get("auth")
        named = auth.get("token_file") if isinstance(auth, dict) else None
        return named if isinstance(named, str) and named else None

    @handles(GetSchedule)
    def get_schedule(self, msg: GetSchedule) -> ConfigView:
        work = Working.of(self._live())
        return ConfigView(apply.schedule_view(work, self._system), work.etag(("schedule",)))

    @handles(ListBackups)
    async def list_backups(self, msg: ListBackups) -> list[BackupInfo]:
        return await asyncio.to_thread(self._files.list_backups)

    @handles(GetPluginFlags)
    async def get_plugin_flags(self, msg: GetPluginFlags) -> PluginFlags:
        live = self._live()
        found = flags.all_flags(live.config)
        enabled = await asyncio.to_thread(flags.resolve, found, self._default_enabled)
        return PluginFlags(live.generation, {k: bool(v) for k, v in enabled.items()})

    def _default_enabled(self, plugin_id: str) -> bool:
        """The schema's default for ``enabled`` (blocking); a plugin without one: enabled."""
        try:
            default = self._plugins.checker(plugin_id).fill_defaults({}).get("enabled", True)
        except PlugvisorError:  # not installed, or its schema is broken: the core default
            return True
        return default if isinstance(default, bool) else True

    @handles(GetHealthReasons)
    def health_reasons(self, msg: GetHealthReasons) -> list[HealthReason]:
        return list(self._files.reasons)

    async def _installed_checker(self, plugin_id: str) -> Checker:
        validate_plugin_id(plugin_id)

        def lookup() -> Checker:
            self._plugins.require_installed(plugin_id)
            return self._plugins.checker(plugin_id)

        return await asyncio.to_thread(lookup)

    def _live(self) -> Snapshot:
        if self._snap is None:  # pragma: no cover - started() always sets it
            raise PlugvisorError(ErrorCode.SERVICE_UNAVAILABLE, "The configuration is not loaded")
        return self._snap

    # --- saves: one batch per handler call ---------------------------------------------------

    @handles(*SAVE_MESSAGES)
    async def save(self, msg: Any) -> SaveResult:
        started = time.perf_counter()
        drained = self.drain(lambda m: isinstance(m, SAVE_MESSAGES), self._batch_limit - 1)
        items = [Item(msg), *(Item(env.message, env) for env in drained)]
        await asyncio.to_thread(self._prepare, items)
        before = self._live()
        work = Working.of(before)
        # each change gets its own generation, so whoever orders by it sees arrival order
        base, changes = self._files.max_generation, 0
        for item in items:
            if item.error is None:
                work = self._apply(work, item)
                changes += item.changed
                item.generation = base + changes if changes else before.generation
        backup_id = None
        if changes:
            # Before the commit, so that even a failed one's log lines cannot show them.
            self._secret_values.add_leaves(work.secrets)
            try:
                keep = _keep_setting(work.config, self._keep)
                snap, backup_id = await asyncio.to_thread(
                    self._files.commit, before, work.config, work.secrets, keep, base + changes
                )
            except PlugvisorError as exc:
                log.warning("config_commit_failed", error_code=exc.code.value, batch=len(items))
                for item in items:
                    if item.applied:
                        item.error = exc
            else:
                self._snap = snap
                await self._resolve_flags(items)
        final = Working.of(self._live())
        for item in items:
            if item.error is None and item.result is None:
                item.result = self._result(item, final, backup_id)
        self._report(items, backup_id, time.perf_counter() - started)
        for item in items[1:]:
            item.answer()
        if items[0].error is not None:
            raise items[0].error
        assert items[0].result is not None
        return items[0].result

    async def _resolve_flags(self, items: list[Item]) -> None:
        """Give each committed save's changed ``enabled`` flags their schema defaults."""
        pending = [
            item for item in items if item.enabled and flags.DEFAULT in item.enabled.values()
        ]
        if not pending:
            return

        def resolve_all() -> None:
            for item in pending:
                assert item.enabled is not None
                item.enabled = flags.resolve(item.enabled, self._default_enabled)

        await asyncio.to_thread(resolve_all)

    def _prepare(self, items: list[Item]) -> None:
        """Boundary checks and file reads for the whole batch, in one worker-thread hop."""
        for item in items:
            msg = item.msg
            try:
                if hasattr(msg, "plugin_id"):
                    validate_plugin_id(msg.plugin_id)
                for name in ("config", "schedule"):
                    if hasattr(msg, name) and not isinstance(getattr(msg, name), Mapping):
                        raise invalid_input(f"'{name}' must be an object", field=name)
                if isinstance(msg, _NEEDS_INSTALLED):
                    self._plugins.require_installed(msg.plugin_id)
                if isinstance(msg, _NEEDS_SCHEMA):
                    item.checker = self._plugins.checker(msg.plugin_id)
                if isinstance(msg, RestoreBackup):
                    item.backup = self._read_backup(msg.backup_id)
            except PlugvisorError as exc:
                item.error, item.rejected = exc, True

    def _read_backup(self, backup_id: Any) -> Snapshot:
        if not isinstance(backup_id, str) or not BACKUP_ID.fullmatch(backup_id):
            raise invalid_input("'backup_id' is not a backup id", field="backup_id")
        try:
            return self._files.read_backup(backup_id)
        except FileNotFoundError:
            raise PlugvisorError(
                ErrorCode.NOT_FOUND, f"No backup '{backup_id}'", context={"backup_id": backup_id}
            ) from None
        except (OSError, Corrupt) as exc:
            raise PlugvisorError(
                ErrorCode.CONFIG_ROLLBACK_FAILED,
                f"Backup '{backup_id}' is damaged and cannot be restored",
                details=str(exc),
                context={"backup_id": backup_id},
            ) from None

    def _apply(self, work: Working, item: Item) -> Working:
        """Apply one save to a copy of ``work``; the copy replaces ``work`` only if it validated."""
        trial = Working(work.base, dict(work.config), dict(work.secrets))
        try:
            apply.run(trial, item.msg, self._system, item.checker, item.backup)
            _check_writable(trial)
        except PlugvisorError as exc:
            item.error = exc
            return work
        except Exception:  # one faulty save must never fail the others of its batch
            log.exception("config_save_crashed", message=type(item.msg).__name__)
            item.error = PlugvisorError(
                ErrorCode.CONFIG_SAVE_FAILED, "The configuration could not be applied"
            )
            return work
        if item.dry_run:
            shown = apply.view(trial, item.msg, self._system, item.checker, False)[1]
            item.result = SaveResult(
                self._live().generation,
                etag=None,
                backup_id=None,
                changed=False,
                dry_run=True,
                data=shown,
            )
            return work
        item.applied = True
        item.changed = trial.config != work.config or trial.secrets != work.secrets
        plugin_id = getattr(item.msg, "plugin_id", None)
        keys = None if plugin_id is None else (plugin_id,)
        item.enabled = flags.changed_flags(work.config, trial.config, keys) or None
        item.view = apply.view(trial, item.msg, self._system, item.checker, item.changed)
        return trial

    def _result(self, item: Item, final: Working, backup_id: str | None) -> SaveResult:
        """The caller's answer: its own version, with an ETag unless a later save superseded it."""
        keys, data = item.view
        etag = None
        if keys is not None:
            now = apply.view(final, item.msg, self._system, item.checker, item.changed)[1]
            etag = final.etag(keys) if now == data else None
        return SaveResult(
            generation=item.generation,
            etag=etag,
            backup_id=backup_id if item.changed else None,
            changed=item.changed,
            data=data,
        )

    def _report(self, items: list[Item], backup_id: str | None, seconds: float) -> None:
        """One event per save on topic ``config`` (failures too): the history records it and
        the state follows it."""
        generation = self._live().generation
        for item in items:
            event = item.event(item.generation if item.error is None else generation)
            if event is not None:
                self._bus.publish("config", event)
            if item.error is not None and not item.rejected:
                log.info(
                    "config_save_failed",
                    kind=item.kind,
                    plugin_id=getattr(item.msg, "plugin_id", None),
                    error_code=item.error.code.value,
                )
        log.info(
            "config_batch",
            size=len(items),
            failed=sum(item.error is not None for item in items),
            generation=generation,
            backup_id=backup_id,
            duration_ms=round(seconds * 1000, 2),
        )


def _keep_setting(config: dict[str, Any], default: int) -> int:
    """``system.backups.keep`` from the config being saved, else the store's default."""
    system = config.get("system")
    backups = system.get("backups") if isinstance(system, dict) else None
    keep = backups.get("keep") if isinstance(backups, dict) else None
    return keep if type(keep) is int and keep >= 1 else default


def _check_writable(work: Working) -> None:
    """Refuse, for this save alone, a config the file format cannot hold (nested too deep)."""
    try:
        orjson.dumps(work.config)
        orjson.dumps(work.secrets)
    except TypeError:
        raise PlugvisorError(
            ErrorCode.CONFIG_VALIDATION_FAILED,
            "The configuration is nested too deeply to be saved",
        ) from None
