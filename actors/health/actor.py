"""The health actor: the supervisor's health (tree, reasons, checks) and every plugin's breaker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import structlog

from actors.damage import Damage
from actors.events import EventBus
from actors.fsio import Syncer
from actors.health.assess import LOW_DISK_BYTES, ask_reasons, assess
from actors.health.breaker import Breaker, summary
from actors.health.checks import HealthSettings, RestartWatch, Sinces, loop_lag, overdue_operations
from actors.health.messages import (
    GetPluginHealth,
    GetPluginsHealth,
    GetSupervisorHealth,
    ReportPluginHealth,
    ResetPluginHealth,
    SupervisorHealth,
)
from actors.health.store import BreakerFile
from actors.health.tracker import HealthTracker, announced
from actors.health_reasons import HealthReason
from actors.plugin_ids import validate_plugin_id
from actors.queue.messages import ListOperations
from actors.timeutil import now_iso, utc_now
from supervision import Actor, ActorRef, Supervisor, handles

log = structlog.get_logger(__name__, actor="health")

_BATCH = 64  # health requests answered by one assessment


class HealthActor(Actor):
    """``tree`` is the tree it reports on (its own), ``sources`` the actors answering
    ``GetHealthReasons``, ``data_root`` the folder whose partition is checked for space.
    With ``bus`` it publishes ``health`` events; with ``health_dir`` the breakers persist;
    with ``queue`` the periodic check looks for operations past ``deadline_s``."""

    def __init__(
        self,
        tree: Supervisor,
        sources: Sequence[ActorRef],
        data_root: Path,
        *,
        probe_timeout_s: float,
        low_disk_bytes: int = LOW_DISK_BYTES,
        damage: Damage | None = None,
        bus: EventBus | None = None,
        queue: ActorRef | None = None,
        health_dir: Path | None = None,
        settings: HealthSettings | None = None,
        deadline_s: float = 600.0,
        syncer: Syncer | None = None,
        clock: Callable[[], float] = time.time,
        tracker: HealthTracker | None = None,
    ) -> None:
        super().__init__()
        self._tree = tree
        self._sources = tuple(sources)
        self._data_root = data_root
        self._probe_timeout_s = probe_timeout_s
        self._low_disk_bytes = low_disk_bytes
        self._damage = damage  # files set aside at start: reasons no actor answers for
        self._bus = bus
        self._queue = queue
        self._file = BreakerFile(health_dir, syncer) if health_dir is not None else None
        self._settings = settings or HealthSettings()
        self._deadline_s = deadline_s
        self._clock = clock
        self._breakers: dict[str, Breaker] = {}
        self._dirty = False  # counters changed since the last write
        self._own: dict[str, HealthReason] = {}  # the periodic checks' current reasons
        self._sinces = Sinces()
        self._restarts = RestartWatch(
            self._settings.restart_window_s, self._settings.restarts_in_window
        )
        # What the bus last announced (the feed's and the watchdog's starting point is "ok"
        # with no reasons): only a change from it is published, also after a restart.
        self._published: tuple[Any, ...] = tracker.key if tracker is not None else ("ok", ())
        self._plugin_published: dict[str, tuple[str, str]] = {}

    async def started(self) -> None:
        if self._file is not None:
            self._breakers, problem = await asyncio.to_thread(self._file.load)
            if problem is not None:
                self._own["health_file_damaged"] = HealthReason(
                    code="health_file_damaged",
                    message="The plugin health file was damaged; plugin health starts afresh",
                    since=now_iso(),
                    detail=problem,
                    remediation="Nothing is needed; plugins report their health again as they run",
                )
        for plugin_id in sorted(self._breakers):
            self._publish_plugin(plugin_id)  # the state's view follows these
        self.spawn(self._check_loop(), name="health-checks")

    async def stopping(self) -> None:
        if self._dirty:
            await self._save()  # a clean stop keeps the exact counters

    # -- the supervisor --------------------------------------------------------------------

    @handles(GetSupervisorHealth)
    async def supervisor_health(self, msg: GetSupervisorHealth) -> SupervisorHealth:
        # Requests already waiting share this assessment: a slow probe must not make a burst
        # of requests wait for one assessment each.
        waiting = self.drain(lambda queued: isinstance(queued, GetSupervisorHealth), _BATCH)
        report = await self._assess()
        for envelope in waiting:
            envelope.reply(report)
        return report

    async def _assess(self) -> SupervisorHealth:
        reasons = await ask_reasons(self._sources, self._probe_timeout_s)
        if self._damage is not None:
            reasons.extend(self._damage.reasons())
        reasons.extend(self._own.values())
        report = await assess(
            self._tree, reasons, self._data_root, low_disk_bytes=self._low_disk_bytes
        )
        self._publish_supervisor(report)
        return report

    def _publish_supervisor(self, report: SupervisorHealth) -> None:
        reasons = [reason.to_dict() for reason in report.reasons]
        key = (report.status, announced(reasons))
        if self._bus is None or key == self._published:
            return
        self._published = key
        self._bus.publish(
            "health", {"kind": "supervisor", "status": report.status, "reasons": reasons}
        )

    async def _check_loop(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self._settings.check_interval_s
        while True:  # runs until the incarnation stops (the task is cancelled)
            started = loop.time()
            await asyncio.sleep(interval)
            overshoot = loop.time() - started - interval
            self._note("event_loop_lag", loop_lag(overshoot, self._settings.loop_lag_s))
            restarts = self._restarts.observe(self._tree.stats(), started, utc_now())
            self._note("actor_restarting", restarts)
            if self._queue is not None:
                try:
                    active = await self._queue.ask(ListOperations(), timeout=self._probe_timeout_s)
                except Exception as exc:  # an unresponsive queue is its own reason already
                    log.debug("health_queue_check_skipped", error=type(exc).__name__)
                else:
                    late = overdue_operations(active, self._deadline_s, utc_now())
                    self._note("operation_past_deadline", late)
            for plugin_id in sorted(self._breakers):  # open -> half_open happens by time
                self._publish_plugin(plugin_id)
            try:
                await self._assess()
            except OSError as exc:  # the disk check could not run: try again next time, never
                # crash-loop the health actor (that would take the whole tree down)
                log.warning("health_check_failed", error=str(exc.strerror))

    def _note(self, code: str, reason: HealthReason | None) -> None:
        stamped = self._sinces.stamp(reason, code)
        if stamped is None:
            self._own.pop(code, None)
        else:
            self._own[code] = stamped

    # -- plugins ---------------------------------------------------------------------------

    @handles(ReportPluginHealth)
    async def report(self, msg: ReportPluginHealth) -> dict[str, Any]:
        plugin_id = validate_plugin_id(msg.plugin_id)
        first = plugin_id not in self._breakers
        breaker = self._breakers.setdefault(plugin_id, Breaker())
        moved = breaker.report(
            msg.success, msg.error, self._clock(), self._settings.breaker_cooldown_s
        )
        self._dirty = True
        if moved or first:
            await self._save()
        self._publish_plugin(plugin_id)
        return self._summary(plugin_id)

    @handles(ResetPluginHealth)
    async def reset(self, msg: ResetPluginHealth) -> dict[str, Any]:
        plugin_id = validate_plugin_id(msg.plugin_id)
        breaker = self._breakers.get(plugin_id)
        if breaker is not None and breaker.reset():
            self._dirty = True
            await self._save()
            self._publish_plugin(plugin_id)
        return self._summary(plugin_id)

    @handles(GetPluginHealth)
    def plugin_health(self, msg: GetPluginHealth) -> dict[str, Any]:
        return self._summary(validate_plugin_id(msg.plugin_id))

    @handles(GetPluginsHealth)
    def plugins_health(self, msg: GetPluginsHealth) -> dict[str, dict[str, Any]]:
        return {pid: self._summary(pid) for pid in sorted(msg.plugin_ids)}

    def _summary(self, plugin_id: str) -> dict[str, Any]:
        breaker = self._breakers.get(plugin_id)
        return summary(plugin_id, breaker, self._clock(), self._settings.breaker_cooldown_s)

    def _publish_plugin(self, plugin_id: str) -> None:
        """Publish the plugin's summary when its status or circuit changed."""
        health = self._summary(plugin_id)
        key = (health["status"], health["circuit_state"])
        if self._bus is None or self._plugin_published.get(plugin_id) == key:
            return
        self._plugin_published[plugin_id] = key
        self._bus.publish("health", {"kind": "plugin", "plugin_id": plugin_id, "health": health})

    async def _save(self) -> None:
        if self._file is None:
            return
        snapshot = {pid: Breaker.from_record(b.to_record()) for pid, b in self._breakers.items()}
        try:
            await asyncio.to_thread(self._file.save, snapshot)
        except OSError as exc:  # counted in memory still; written at the next change
            log.warning("health_save_failed", error=str(exc.strerror))
            return
        self._dirty = False
