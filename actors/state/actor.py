"""The state actor: the single source of truth for plugin state, persisted with group commit.

Changes waiting in the mailbox are applied together and written once; every caller is
answered after the write, and every change is then published on the bus (``plugin_state``).
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import structlog

from actors.errors import ErrorCode, PlugvisorError
from actors.events import EventBus
from actors.fsio import Syncer, storage_error
from actors.health_reasons import GetHealthReasons, HealthReason
from actors.paths import DataPaths
from actors.plugin_ids import validate_plugin_id
from actors.state.changes import Applied, States, apply, apply_discovery
from actors.state.discovery import scan_plugins
from actors.state.messages import (
    MUTATIONS,
    DiscoverPlugins,
    DiscoveryReport,
    GetAllStates,
    GetState,
)
from actors.state.store import StateFile
from actors.timeutil import now_iso
from supervision import Actor, handles

log = structlog.get_logger(__name__, actor="state")

Outcome = Applied | PlugvisorError


class StateActor(Actor):
    def __init__(
        self,
        paths: DataPaths,
        bus: EventBus | None = None,
        *,
        syncer: Syncer | None = None,
        batch_limit: int = 64,
    ) -> None:
        super().__init__()
        self._paths = paths
        self._bus = bus
        self._file = StateFile(paths.state_dir, syncer)
        self._batch_limit = batch_limit
        self._states: States = {}
        self._reasons: list[HealthReason] = []

    async def started(self) -> None:
        loaded = await asyncio.to_thread(self._file.load)
        self._states = loaded.states
        if loaded.problem is not None:
            self._reasons.append(
                HealthReason(
                    code="state_file_corrupt",
                    message="The plugin state file was damaged; state was rebuilt from disk",
                    since=now_iso(),
                    detail=f"{loaded.problem}; the damaged file was kept as {loaded.kept_as}",
                    remediation="Check the plugins' enabled flags and run a reconciliation; "
                    "the kept copy may be inspected, then deleted",
                )
            )
        try:
            report = await self._discover(force_save=loaded.problem is not None)
        except PlugvisorError as exc:  # keep serving what was loaded; the reason says why
            self._reasons.append(
                HealthReason(
                    code="state_save_failed",
                    message="The plugin state could not be saved at start",
                    since=now_iso(),
                    detail=exc.message,
                    remediation="Check free space and the health of the data partition",
                )
            )
            return
        log.info("state_started", plugins=len(self._states), missing=len(report.missing))

    # -- reading ---------------------------------------------------------------------------

    @handles(GetState)
    def get_state(self, msg: GetState) -> dict[str, Any] | None:
        state = self._states.get(validate_plugin_id(msg.plugin_id))
        return state.to_dict() if state else None

    @handles(GetAllStates)
    def get_all(self, msg: GetAllStates) -> dict[str, dict[str, Any]]:
        return {plugin_id: self._states[plugin_id].to_dict() for plugin_id in sorted(self._states)}

    @handles(GetHealthReasons)
    def health_reasons(self, msg: GetHealthReasons) -> list[HealthReason]:
        return list(self._reasons)

    # -- changing --------------------------------------------------------------------------

    @handles(*MUTATIONS)
    async def mutate(self, msg: Any) -> Any:
        envelopes = self.drain(lambda m: isinstance(m, MUTATIONS), self._batch_limit - 1)
        messages = [msg, *(envelope.message for envelope in envelopes)]
        before = {plugin_id: state.copy() for plugin_id, state in self._states.items()}
        outcomes: list[Outcome] = []
        for message in messages:
            try:
                outcomes.append(apply(self._states, message))
            except PlugvisorError as exc:
                outcomes.append(exc)
        changed = [o for o in outcomes if isinstance(o, Applied) and o.change is not None]
        try:
            await self._save_if(any(o.persist for o in changed))
        except PlugvisorError as exc:
            self._states = before  # memory stays what the disk holds
            outcomes = [exc if isinstance(o, Applied) else o for o in outcomes]
            changed = []
        self._publish(changed)
        for envelope, outcome in zip(envelopes, outcomes[1:], strict=True):
            if isinstance(outcome, PlugvisorError):
                envelope.fail(outcome)
            else:
                envelope.reply(outcome.answer)
        if isinstance(outcomes[0], PlugvisorError):
            raise outcomes[0]
        return outcomes[0].answer

    @handles(DiscoverPlugins)
    async def discover(self, msg: DiscoverPlugins) -> DiscoveryReport:
        return await self._discover(force_save=False)

    async def _discover(self, *, force_save: bool) -> DiscoveryReport:
        scan = await asyncio.to_thread(scan_plugins, self._paths.plugins_dir)
        before = {plugin_id: state.copy() for plugin_id, state in self._states.items()}
        report, changed = apply_discovery(self._states, scan)
        try:
            await self._save_if(force_save or bool(changed))
        except PlugvisorError:
            self._states = before
            raise
        self._publish(changed)
        if report.missing or report.invalid or report.ignored:
            log.warning(
                "state_discovery_problems",
                missing=report.missing,
                invalid=report.invalid,
                ignored=report.ignored,
            )
        return report

    async def _save_if(self, needed: bool) -> None:
        if not needed:
            return
        try:
            await asyncio.to_thread(self._file.save, self._states)
        except OSError as exc:
            log.error("state_save_failed", error=str(exc.strerror))
            raise storage_error(exc, ErrorCode.SYSTEM_ERROR, "save the plugin state") from None

    def _publish(self, changed: list[Applied]) -> None:
        if self._bus is None:
            return
        for applied in changed:
            state = applied.answer if isinstance(applied.answer, dict) else None
            self._bus.publish(
                "plugin_state",
                {
                    "plugin_id": applied.plugin_id,
                    "state": copy.deepcopy(state),
                    "change": applied.change,
                },
            )
