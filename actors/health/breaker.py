"""A plugin's circuit breaker: a pure state machine over reports, with an injectable clock.

closed -> open after ``FAILURE_THRESHOLD`` consecutive failures; open -> half_open once the
cooldown has passed (derived from the clock, never stored); the next report is the one probe:
success closes, failure opens again. A report while open only counts (W-H3: no force-close).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from actors.timeutil import iso as iso_moment

FAILURE_THRESHOLD = 3
WINDOW = 20  # reports in the sliding success-rate window
DEFAULT_COOLDOWN_S = 60.0
MAX_ERROR_CHARS = 500
CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
HEALTHY, DEGRADED, UNHEALTHY, UNKNOWN = "healthy", "degraded", "unhealthy", "unknown"
DEGRADED_BELOW = 0.8  # a closed circuit whose window success rate is lower is degraded

Clock = Callable[[], float]  # seconds since the epoch


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return iso_moment(datetime.fromtimestamp(epoch, UTC))


@dataclass(slots=True)
class Breaker:
    """One plugin's breaker; ``report`` and ``reset`` return whether the stored state changed."""

    circuit: str = CLOSED  # as stored: closed or open (half_open is derived)
    opened_at: float | None = None
    consecutive_failures: int = 0
    total_failures: int = 0
    total_successes: int = 0
    last_success_time: float | None = None
    last_failure_time: float | None = None
    last_error: str | None = None
    window: deque[bool] = field(default_factory=lambda: deque(maxlen=WINDOW))

    def state(self, now: float, cooldown_s: float) -> str:
        opened = self.opened_at
        if self.circuit == OPEN and opened is not None and now - opened >= cooldown_s:
            return HALF_OPEN
        return self.circuit

    def report(self, success: bool, error: str | None, now: float, cooldown_s: float) -> bool:
        """Count one report; True when it moved the circuit (a transition to persist)."""
        probing = self.state(now, cooldown_s) == HALF_OPEN
        self.window.append(success)
        if success:
            self.total_successes += 1
            self.consecutive_failures = 0
            self.last_success_time = now
        else:
            self.total_failures += 1
            self.consecutive_failures += 1
            self.last_failure_time = now
            self.last_error = (error or "failure reported without a message")[:MAX_ERROR_CHARS]
        if probing:  # the one half-open probe decides
            if success:
                self.circuit, self.opened_at = CLOSED, None
            else:
                self.opened_at = now
            return True
        if self.circuit == CLOSED and self.consecutive_failures >= FAILURE_THRESHOLD:
            self.circuit, self.opened_at = OPEN, now
            return True
        return False

    def reset(self) -> bool:
        """Close the circuit and clear the failure streak; True when anything changed."""
        before = (self.circuit, self.consecutive_failures)
        self.circuit, self.opened_at, self.consecutive_failures = CLOSED, None, 0
        self.window.clear()
        return before != (CLOSED, 0)

    def success_rate(self) -> float | None:
        if not self.window:
            return None
        return round(sum(self.window) / len(self.window), 4)

    def status(self, now: float, cooldown_s: float) -> str:
        if self.total_failures + self.total_successes == 0:
            return UNKNOWN  # no reports: never unhealthy (W-H2)
        state = self.state(now, cooldown_s)
        if state == OPEN:
            return UNHEALTHY
        rate = self.success_rate()
        low = rate is not None and rate < DEGRADED_BELOW
        if state == HALF_OPEN or self.consecutive_failures or low:
            return DEGRADED
        return HEALTHY

    def to_record(self) -> dict[str, Any]:
        """What is stored: the circuit and every counter as they are now."""
        return {
            "circuit": self.circuit,
            "opened_at": self.opened_at,
            "consecutive_failures": self.consecutive_failures,
            "total_failures": self.total_failures,
            "total_successes": self.total_successes,
            "last_success_time": self.last_success_time,
            "last_failure_time": self.last_failure_time,
            "last_error": self.last_error,
            "window": list(self.window),
        }

    @classmethod
    def from_record(cls, data: Any) -> Breaker:
        """Parse a stored record; raises ``ValueError`` naming what is wrong."""
        if not isinstance(data, dict) or data.get("circuit") not in (CLOSED, OPEN):
            raise ValueError("not a breaker record")
        counts = ("consecutive_failures", "total_failures", "total_successes")
        if not all(type(data.get(n)) is int and data[n] >= 0 for n in counts):
            raise ValueError("invalid counters")
        times = ("opened_at", "last_success_time", "last_failure_time")
        if not all(data.get(n) is None or isinstance(data[n], int | float) for n in times):
            raise ValueError("invalid times")
        if data["circuit"] == OPEN and data.get("opened_at") is None:
            raise ValueError("open without opened_at")
        error = data.get("last_error")
        window = data.get("window", [])
        if error is not None and not isinstance(error, str):
            raise ValueError("invalid last_error")
        if not isinstance(window, list) or not all(isinstance(v, bool) for v in window):
            raise ValueError("invalid window")
        return cls(
            data["circuit"],
            data.get("opened_at"),
            *(data[n] for n in counts),
            data.get("last_success_time"),
            data.get("last_failure_time"),
            error,
            deque(window[-WINDOW:], maxlen=WINDOW),
        )


def suggestions(breaker: Breaker, state: str, status: str) -> list[str]:
    """What a person can do about a plugin in this state."""
    if status == UNKNOWN:
        return []
    tips: list[str] = []
    if state == OPEN:
        tips.append("The plugin failed repeatedly and is paused; check its last error")
        tips.append("Check the plugin's configuration and any API keys it needs")
        tips.append("Update or reinstall the plugin, then reset its health")
    elif state == HALF_OPEN:
        tips.append("The plugin is being retried; watch whether its next run succeeds")
    elif status == DEGRADED:
        tips.append("The plugin fails now and then; check its last error and network access")
    return tips


def summary(
    plugin_id: str, breaker: Breaker | None, now: float, cooldown_s: float
) -> dict[str, Any]:
    """The plugin's health in the contract's shape (shared/API.md, Health)."""
    breaker = breaker if breaker is not None else Breaker()
    state = breaker.state(now, cooldown_s)
    status = breaker.status(now, cooldown_s)
    return {
        "plugin_id": plugin_id,
        "status": status,
        "circuit_state": state,
        "consecutive_failures": breaker.consecutive_failures,
        "total_failures": breaker.total_failures,
        "total_successes": breaker.total_successes,
        "success_rate": breaker.success_rate(),
        "last_success_time": iso(breaker.last_success_time),
        "last_failure_time": iso(breaker.last_failure_time),
        "last_error": breaker.last_error,
        "recovery_suggestions": suggestions(breaker, state, status),
    }
