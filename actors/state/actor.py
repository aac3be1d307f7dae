"""The state actor: the derived view of every installed plugin, rebuilt from its homes at start.

A plugin is in the view while its folder is in plugins/; ``enabled`` is what the config says;
version and times come from the install record. Only observations (the last operation and its
error) are the state's own, saved when they change: a toggle writes nothing here. Every change
of a view is published on the bus (``plugin_state``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import structlog

from actors.config_store.messages import GetPluginFlags, PluginFlags
from actors.errors import ErrorCode, PlugvisorError
from actors.events import EventBus
from actors.fsio import Syncer, storage_error
from actors.health_reasons import GetHealthReasons, HealthReason
from actors.paths import DataPaths
from actors.plugin_ids import is_valid_plugin_id, validate_plugin_id
from actors.rendered import Rendered, render
from actors.state.disk import DiskPlugin, scan_one, scan_plugins
from actors.state.messages import (
    FollowConfig,
    FollowHealth,
    FollowOperation,
    GetAllStates,
    GetAllStatesRendered,
    GetInstalledFacts,
    GetState,
    InstalledChanged,
    InstalledFacts,
    RescanPlugins,
)
from actors.state.model import HEALTH, MAX_ERROR_CHARS, Observed, compose
from actors.state.store import Loaded, StateFile
from actors.timeutil import now_iso
from supervision import Actor, ActorRef, ActorStopped, MailboxFull, handles

log = structlog.get_logger(__name__, actor="state")

FAILED = frozenset({"failed", "timed_out"})


class StateActor(Actor):
    def __init__(
        self,
        paths: DataPaths,
        config_store: ActorRef,
        bus: EventBus | None = None,
        *,
        syncer: Syncer | None = None,
        ask_timeout_s: float = 10.0,
        installed_listener: ActorRef | None = None,
    ) -> None:
        super().__init__()
        self._paths = paths
        self._config = config_store
        self._bus = bus
        self._file = StateFile(paths.state_dir, syncer)
        self._timeout = ask_timeout_s
        self._disk: dict[str, DiskPlugin] = {}
        self._enabled: dict[str, bool] = {}  # the config's flags, for every section it has
        self._config_version: dict[str, int] = {}
        self._generation = 0  # the config generation the flags were read at
        self._observed: dict[str, Observed] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._reasons: list[HealthReason] = []
        self._health: dict[str, str] = {}  # followed from the health actor's events
        # Read models: bumped on every change of a view or of a plugin's files; the rendered
        # answer is dropped with it and serialised again on the next ask. It starts from the
        # monotonic clock so a restarted incarnation never repeats one a reader already holds.
        self._revision = time.monotonic_ns()
        self._rendered: Rendered | None = None
        self._listener = installed_listener  # told InstalledChanged on every change

    async def started(self) -> None:
        loaded = await asyncio.to_thread(self._file.load)
        scan = await asyncio.to_thread(scan_plugins, self._paths.plugins_dir)
        flags: PluginFlags = await self._config.ask(GetPluginFlags(), timeout=self._timeout)
        self._observed = loaded.observed
        self._disk = scan.plugins
        self._enabled = dict(flags.enabled)
        self._generation = flags.generation
        self._views = {pid: self._compose(pid) for pid in sorted(self._disk)}
        self._note_load(loaded)
        if loaded.problem or loaded.outdated:
            await self._save_observed()
        self._changed()  # a listener may hold what an earlier incarnation answered
        if scan.ignored:
            log.warning("state_ignored_folders", ignored=scan.ignored)
        log.info("state_started", plugins=len(self._views), generation=self._generation)

    def _note_load(self, loaded: Loaded) -> None:
        if loaded.problem is not None:
            self._reasons.append(
                HealthReason(
                    code="state_file_corrupt",
                    message="The plugin state file was damaged; the state was rebuilt",
                    since=now_iso(),
                    detail=f"{loaded.problem}; the damaged file was kept as {loaded.kept_as}. "
                    "Enabled flags and versions come from the config and plugins/, so only "
                    "the last operation and last error of each plugin were lost",
                    remediation="Nothing is needed; the kept copy may be inspected, then deleted",
                )
            )
        elif not loaded.found and self._disk:
            self._reasons.append(
                HealthReason(
                    code="state_file_lost",
                    message="The plugin state file was missing; the state was rebuilt",
                    since=now_iso(),
                    detail=f"{len(self._disk)} installed plugin(s) found without a state file; "
                    "their last operation and last error are no longer known",
                    remediation="Nothing is needed unless files under the data directory are "
                    "being removed by something else; check the device's storage",
                )
            )

    # -- reading ---------------------------------------------------------------------------

    @handles(GetState)
    def get_state(self, msg: GetState) -> dict[str, Any] | None:
        return self._views.get(validate_plugin_id(msg.plugin_id))

    @handles(GetAllStates)
    def get_all(self, msg: GetAllStates) -> dict[str, dict[str, Any]]:
        return dict(self._views)

    @handles(GetAllStatesRendered)
    def get_all_rendered(self, msg: GetAllStatesRendered) -> Rendered:
        if self._rendered is None:
            self._rendered = render(self._views)
        return self._rendered

    @handles(GetInstalledFacts)
    def installed_facts(self, msg: GetInstalledFacts) -> InstalledFacts:
        if msg.known_revision == self._revision:
            return InstalledFacts(self._revision, None)
        plugins = tuple((self._disk[pid], self._views[pid]) for pid in sorted(self._views))
        return InstalledFacts(self._revision, plugins)

    @handles(GetHealthReasons)
    def health_reasons(self, msg: GetHealthReasons) -> list[HealthReason]:
        return list(self._reasons)

    # -- following the homes ---------------------------------------------------------------

    @handles(FollowConfig)
    def follow_config(self, msg: FollowConfig) -> None:
        if msg.generation <= self._generation:
            return  # already part of what was read at start
        touched = set()
        for plugin_id, enabled in msg.enabled.items():
            if not is_valid_plugin_id(plugin_id):
                continue
            if self._config_version.get(plugin_id, 0) > msg.generation:
                continue  # a newer change of this plugin arrived first
            if enabled is None:
                self._enabled.pop(plugin_id, None)
            else:
                self._enabled[plugin_id] = bool(enabled)
            touched.add(plugin_id)
        if msg.plugin_id is not None and is_valid_plugin_id(msg.plugin_id):
            touched.add(msg.plugin_id)
        for plugin_id in touched:
            if self._config_version.get(plugin_id, 0) < msg.generation:
                self._config_version[plugin_id] = msg.generation
            self._refresh(plugin_id, "config")

    @handles(FollowOperation)
    async def follow_operation(self, msg: FollowOperation) -> None:
        record = msg.record
        ids = {record.get("plugin_id"), (record.get("result") or {}).get("plugin_id")}
        ids = {pid for pid in ids if is_valid_plugin_id(pid)}
        if not ids:
            return
        await self._rescan(sorted(ids))
        changed = False
        for plugin_id in ids:
            changed |= self._observe(plugin_id, record)
            self._refresh(plugin_id, "operation")
        if changed:
            with contextlib.suppress(PlugvisorError):  # logged; never worth failing for
                await self._save_observed()

    @handles(FollowHealth)
    def follow_health(self, msg: FollowHealth) -> None:
        if not is_valid_plugin_id(msg.plugin_id) or msg.health not in HEALTH:
            return
        self._health[msg.plugin_id] = msg.health
        if msg.plugin_id in self._disk:
            self._refresh(msg.plugin_id, "health")

    @handles(RescanPlugins)
    async def rescan(self, msg: RescanPlugins) -> None:
        if msg.plugin_ids is None:
            scan = await asyncio.to_thread(scan_plugins, self._paths.plugins_dir)
            gone = set(self._disk) - set(scan.plugins)
            self._disk = dict(scan.plugins)
            self._changed()
            for plugin_id in sorted(gone | set(scan.plugins)):
                self._refresh(plugin_id, "rescan")
            return
        ids = [validate_plugin_id(pid) for pid in msg.plugin_ids]
        await self._rescan(ids)
        for plugin_id in ids:
            self._refresh(plugin_id, "rescan")

    # -- helpers ---------------------------------------------------------------------------

    async def _rescan(self, plugin_ids: list[str]) -> None:
        def read() -> dict[str, DiskPlugin | None]:
            return {pid: scan_one(self._paths.plugins_dir, pid) for pid in plugin_ids}

        for plugin_id, disk in (await asyncio.to_thread(read)).items():
            if disk is None:
                self._disk.pop(plugin_id, None)
            else:
                self._disk[plugin_id] = disk
        self._changed()

    def _observe(self, plugin_id: str, record: dict[str, Any]) -> bool:
        """Note a finished operation; returns whether the observations changed."""
        status = record.get("status")
        if plugin_id not in self._disk:
            return self._observed.pop(plugin_id, None) is not None  # uninstalled: forget it
        before = self._observed.get(plugin_id, Observed())
        after = Observed(record.get("operation_id"), before.last_error)
        if status in FAILED:
            error = record.get("error") or {}
            after.last_error = {
                "message": str(error.get("message") or record.get("message") or status)[
                    :MAX_ERROR_CHARS
                ],
                "operation_id": record.get("operation_id"),
                "since": record.get("completed_at") or now_iso(),
            }
        elif status == "completed":
            after.last_error = None
        if after == before:
            return False
        self._observed[plugin_id] = after
        return True

    def _compose(self, plugin_id: str) -> dict[str, Any]:
        return compose(
            self._disk[plugin_id],
            self._enabled.get(plugin_id),
            self._config_version.get(plugin_id, self._generation),
            self._observed.get(plugin_id, Observed()),
            self._health.get(plugin_id, "unknown"),
        )

    def _refresh(self, plugin_id: str, change: str) -> None:
        """Recompose one view and publish it if it changed (``None``: no longer installed)."""
        old = self._views.get(plugin_id)
        new = self._compose(plugin_id) if plugin_id in self._disk else None
        if new == old:
            return
        if new is None:
            del self._views[plugin_id]
            change = "removed"
        else:
            self._views[plugin_id] = new
        self._changed()
        if self._bus is not None:
            self._bus.publish(
                "plugin_state", {"plugin_id": plugin_id, "state": new, "change": change}
            )

    def _changed(self) -> None:
        self._revision += 1
        self._rendered = None
        if self._listener is None:
            return
        note = InstalledChanged(self._revision)
        try:
            self._listener.tell_nowait(note)  # now, so it is queued ahead of later reads
        except MailboxFull:
            self.spawn(self._listener.tell(note), name="installed-changed")
        except ActorStopped:
            pass  # shutting down: nobody left to list anything

    async def _save_observed(self) -> None:
        try:
            await asyncio.to_thread(self._file.save, self._observed)
        except OSError as exc:
            log.error("state_save_failed", error=str(exc.strerror))
            raise storage_error(exc, ErrorCode.SYSTEM_ERROR, "save the plugin state") from None
