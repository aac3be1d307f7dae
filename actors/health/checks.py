"""The health actor's own periodic checks: event-loop lag, operations past their deadline, actors
restarting repeatedly. Each turns a measurement into a reason, or ``None`` once it passes."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from actors.health_reasons import HealthReason
from actors.timeutil import now_iso, parse_iso
from supervision import ActorStats


@dataclass(frozen=True, slots=True)
class HealthSettings:
    """How often the checks run and where their limits are; short in tests."""

    check_interval_s: float = 5.0
    breaker_cooldown_s: float = 60.0
    loop_lag_s: float = 0.5  # sleep overshoot past which the event loop counts as lagging
    restart_window_s: float = 300.0
    restarts_in_window: int = 3  # this many restarts of one actor within the window


class Sinces:
    """Keeps the first time each reason code was seen, so ``since`` stays put while it lasts."""

    def __init__(self) -> None:
        self._since: dict[str, str] = {}

    def stamp(self, reason: HealthReason | None, code: str) -> HealthReason | None:
        if reason is None:
            self._since.pop(code, None)
            return None
        since = self._since.setdefault(code, reason.since)
        return HealthReason(
            reason.code, reason.message, since, reason.detail, reason.remediation, reason.severity
        )


def loop_lag(overshoot_s: float, limit_s: float) -> HealthReason | None:
    if overshoot_s < limit_s:
        return None
    return HealthReason(
        code="event_loop_lag",
        message="The supervisor is responding slowly",
        since=now_iso(),
        detail=f"a timer fired {overshoot_s * 1000:.0f} ms late (limit {limit_s * 1000:.0f} ms)",
        remediation="Check the device's CPU load; restart the service if this persists",
    )


def _age_s(stamp: Any, now: datetime) -> float | None:
    if not isinstance(stamp, str):
        return None
    try:
        return (now - parse_iso(stamp)).total_seconds()
    except ValueError:
        return None


def overdue_operations(
    active: Sequence[dict[str, Any]], deadline_s: float, now: datetime
) -> HealthReason | None:
    """Running past the deadline, or a lane stuck: pending longer than the deadline."""
    late: list[str] = []
    for op in active:
        if op.get("status") == "running":
            age = _age_s(op.get("started_at"), now)
            what = "running"
        else:
            age = _age_s(op.get("created_at"), now)
            what = "waiting"
        if age is not None and age > deadline_s:
            late.append(f"{op.get('operation_id')} ({op.get('type')}, {what} {age:.0f} s)")
    if not late:
        return None
    return HealthReason(
        code="operation_past_deadline",
        message="An operation has run or waited past its deadline",
        since=now_iso(),
        detail=f"deadline {deadline_s:.0f} s: " + ", ".join(late[:5]),
        remediation="Cancel the operation; if it does not stop, restart the service",
    )


class RestartWatch:
    """Counts each actor's restarts seen within a sliding window of ``window_s`` seconds."""

    def __init__(self, window_s: float, limit: int) -> None:
        self._window_s = window_s
        self._limit = limit
        self._seen: dict[str, int] = {}
        self._times: dict[str, deque[float]] = {}

    def observe(
        self, stats: Iterable[ActorStats], now: float, wall: datetime
    ) -> HealthReason | None:
        """``now`` is monotonic; ``wall`` the UTC time, for restarts before the first look."""
        noisy: list[str] = []
        for stat in stats:
            before = self._seen.get(stat.name)
            if before is None:  # first look (start, or this actor restarted): recent ones count
                age = _age_s(stat.last_restart_at, wall)
                before = 0 if age is not None and age <= self._window_s else stat.restarts
            self._seen[stat.name] = stat.restarts
            times = self._times.setdefault(stat.name, deque(maxlen=max(self._limit * 4, 16)))
            times.extend([now] * max(0, stat.restarts - before))
            while times and now - times[0] > self._window_s:
                times.popleft()
            if len(times) >= self._limit:
                noisy.append(f"{stat.name} ({len(times)} restarts)")
        if not noisy:
            return None
        return HealthReason(
            code="actor_restarting",
            message="A component keeps restarting",
            since=now_iso(),
            detail=f"within {self._window_s:.0f} s: " + ", ".join(noisy),
            remediation="Check the log for the component's error; restart the service if needed",
        )
