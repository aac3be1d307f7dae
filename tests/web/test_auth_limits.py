"""The wrong-token limit, on an injected clock: per address (IPv6 per /64), windowed, bounded."""

from __future__ import annotations

from web.auth_limits import FailureLimiter, client_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limit_blocks_an_address_for_the_lockout_then_lets_it_try() -> None:
    clock = Clock()
    limiter = FailureLimiter(max_failures=3, window_s=60, lockout_s=30, clock=clock)
    assert [limiter.failed("10.0.0.1") for _ in range(2)] == [None, None]
    assert limiter.retry_after("10.0.0.1") is None
    assert limiter.failed("10.0.0.1") == 30
    assert limiter.retry_after("10.0.0.1") == 30
    assert limiter.retry_after("10.0.0.2") is None  # another address is not affected
    clock.now += 29.5
    assert limiter.retry_after("10.0.0.1") == 1
    clock.now += 0.5
    assert limiter.retry_after("10.0.0.1") is None


def test_failures_outside_the_window_start_a_new_count() -> None:
    clock = Clock()
    limiter = FailureLimiter(max_failures=3, window_s=60, lockout_s=30, clock=clock)
    limiter.failed("10.0.0.1")
    limiter.failed("10.0.0.1")
    clock.now += 60
    assert limiter.failed("10.0.0.1") is None
    assert limiter.failed("10.0.0.1") is None
    assert limiter.failed("10.0.0.1") == 30


def test_a_success_forgets_the_failures() -> None:
    limiter = FailureLimiter(max_failures=2, clock=Clock())
    limiter.failed("10.0.0.1")
    limiter.succeeded("10.0.0.1")
    assert limiter.failed("10.0.0.1") is None


def test_ipv6_addresses_count_per_64_and_mapped_ipv4_as_ipv4() -> None:
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9")
    assert client_key("2001:db8:1:2::1") != client_key("2001:db8:1:3::1")
    assert client_key("::ffff:10.0.0.1") == "10.0.0.1"
    assert client_key(None) == "unknown"


def test_memory_is_bounded_and_blocked_addresses_are_kept_longest() -> None:
    clock = Clock()
    limiter = FailureLimiter(max_failures=1, window_s=60, lockout_s=600, max_clients=3, clock=clock)
    limiter.failed("10.0.0.1")  # blocked
    limiter.max_failures = 5  # the others only count
    for last in range(2, 40):
        limiter.failed(f"10.0.0.{last}")
        assert len(limiter) <= 3
    assert limiter.retry_after("10.0.0.1") is not None
