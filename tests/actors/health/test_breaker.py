"""The breaker state machine with a fake clock: every transition and the exact summaries."""

from __future__ import annotations

from actors.health.breaker import Breaker, summary

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z
COOLDOWN = 60.0


def at(breaker: Breaker, now: float) -> dict:
    return summary("clock", breaker, now, COOLDOWN)


def test_no_reports_is_unknown_never_unhealthy() -> None:
    assert at(Breaker(), T0) == {
        "plugin_id": "clock",
        "status": "unknown",
        "circuit_state": "closed",
        "consecutive_failures": 0,
        "total_failures": 0,
        "total_successes": 0,
        "success_rate": None,
        "last_success_time": None,
        "last_failure_time": None,
        "last_error": None,
        "recovery_suggestions": [],
    }


def test_three_failures_open_then_one_probe_after_the_cooldown_closes() -> None:
    breaker = Breaker()
    assert breaker.report(True, None, T0, COOLDOWN) is False  # a success while closed: no write
    assert breaker.report(False, "timeout", T0 + 1, COOLDOWN) is False
    assert at(breaker, T0 + 1)["status"] == "degraded"
    assert breaker.report(False, "timeout", T0 + 2, COOLDOWN) is False
    assert breaker.report(False, "HTTP 500", T0 + 3, COOLDOWN) is True  # closed -> open
    assert at(breaker, T0 + 3) == {
        "plugin_id": "clock",
        "status": "unhealthy",
        "circuit_state": "open",
        "consecutive_failures": 3,
        "total_failures": 3,
        "total_successes": 1,
        "success_rate": 0.25,
        "last_success_time": "2027-01-15T08:00:00.000Z",
        "last_failure_time": "2027-01-15T08:00:03.000Z",
        "last_error": "HTTP 500",
        "recovery_suggestions": [
            "The plugin failed repeatedly and is paused; check its last error",
            "Check the plugin's configuration and any API keys it needs",
            "Update or reinstall the plugin, then reset its health",
        ],
    }
    # A success while open (before the cooldown) counts, but does not force-close (W-H3).
    assert breaker.report(True, None, T0 + 10, COOLDOWN) is False
    assert at(breaker, T0 + 10)["circuit_state"] == "open"
    assert at(breaker, T0 + 62.9)["circuit_state"] == "open"
    half = at(breaker, T0 + 63)
    assert (half["circuit_state"], half["status"]) == ("half_open", "degraded")
    assert half["recovery_suggestions"] == [
        "The plugin is being retried; watch whether its next run succeeds"
    ]
    assert breaker.report(True, None, T0 + 64, COOLDOWN) is True  # the probe closes it
    closed = at(breaker, T0 + 64)
    assert closed["circuit_state"] == "closed"
    assert closed["consecutive_failures"] == 0
    assert (closed["total_failures"], closed["total_successes"]) == (3, 3)
    assert closed["success_rate"] == 0.5 and closed["status"] == "degraded"  # window below 80 %


def test_a_failed_probe_opens_again_for_a_new_cooldown() -> None:
    breaker = Breaker()
    for second in range(3):
        breaker.report(False, "boom", T0 + second, COOLDOWN)
    assert breaker.report(False, "still broken", T0 + 70, COOLDOWN) is True  # the probe failed
    assert at(breaker, T0 + 70)["circuit_state"] == "open"
    assert at(breaker, T0 + 129)["circuit_state"] == "open"  # cooldown counts from the probe
    assert at(breaker, T0 + 130)["circuit_state"] == "half_open"
    assert at(breaker, T0 + 130)["consecutive_failures"] == 4


def test_reset_closes_and_the_window_rate_recovers() -> None:
    breaker = Breaker()
    for second in range(3):
        breaker.report(False, "boom", T0 + second, COOLDOWN)
    assert breaker.reset() is True
    assert breaker.reset() is False  # nothing left to change: nothing to write
    after = at(breaker, T0 + 5)
    assert (after["circuit_state"], after["status"], after["success_rate"]) == (
        "closed",
        "healthy",  # a reset is a person saying it is fixed: no streak, no window
        None,
    )
    for second in range(25):
        assert breaker.report(True, None, T0 + 10 + second, COOLDOWN) is False
    healthy = at(breaker, T0 + 40)
    assert (healthy["status"], healthy["success_rate"], healthy["total_failures"]) == (
        "healthy",
        1.0,
        3,
    )


def test_the_record_round_trips_and_errors_are_capped() -> None:
    breaker = Breaker()
    breaker.report(False, "x" * 5000, T0, COOLDOWN)
    assert len(breaker.last_error or "") == 500
    again = Breaker.from_record(breaker.to_record())
    assert at(again, T0) == at(breaker, T0)
