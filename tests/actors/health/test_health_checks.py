"""The health actor's periodic checks: reasons appear on the bus and clear when the check passes;
the sd_notify watchdog stops pinging while the status is unhealthy and resumes after."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from actors.events import Event, EventBus
from actors.health import HealthActor
from actors.health.checks import HealthSettings
from actors.health.tracker import HealthTracker
from actors.health_reasons import GetHealthReasons, HealthReason
from supervision import Actor, ChildSpec, Supervisor, handles
from supervision.systemd import Notifier
from tests.polling import wait_until
from tests.small_disk import small_disk

FAST = HealthSettings(check_interval_s=0.05, loop_lag_s=0.2)
BROKEN = HealthReason(
    code="journal_unwritable",
    message="Operations cannot be recorded",
    since="2026-11-26T10:12:32.123Z",
    severity="unhealthy",
)


class Reporter(Actor):
    """Answers ``GetHealthReasons`` with whatever its (test-owned) list holds now."""

    def __init__(self, reasons: list[HealthReason]) -> None:
        super().__init__()
        self.reasons = reasons
        self.asked = 0

    @handles(GetHealthReasons)
    def health_reasons(self, msg: GetHealthReasons) -> list[HealthReason]:
        self.asked += 1
        return list(self.reasons)


class Crash:
    """Tell this to a ``Crasher`` to make it crash (and be restarted)."""


class Crasher(Actor):
    @handles(Crash)
    def crash(self, msg: Crash) -> None:
        raise RuntimeError("asked to crash")


class Seen:
    """The supervisor health events published on the bus, in order."""

    def __init__(self, bus: EventBus) -> None:
        self.events: list[dict[str, Any]] = []
        bus.subscribe(self._on, topics=["health"])

    def _on(self, event: Event) -> None:
        if event.data.get("kind") == "supervisor":
            self.events.append(event.data)

    def codes(self) -> list[str]:
        return [reason["code"] for reason in self.events[-1]["reasons"]] if self.events else []

    async def until(self, check: Any, what: str) -> dict[str, Any]:
        return await wait_until(
            lambda: self.events[-1] if self.events and check(self.events[-1]) else None,
            what=what,
            interval=0.02,
        )


def has(code: str) -> Any:
    return lambda data: code in [reason["code"] for reason in data["reasons"]]


def lacks(code: str) -> Any:
    return lambda data: code not in [reason["code"] for reason in data["reasons"]]


@asynccontextmanager
async def health_tree(
    data_root: Path,
    bus: EventBus,
    reasons: list[HealthReason],
    reporter: Reporter | None = None,
    **options: Any,
) -> AsyncIterator[Supervisor]:
    def health_actor() -> HealthActor:
        return HealthActor(
            root, [root.ref("reporter")], data_root, probe_timeout_s=1.0, bus=bus, **options
        )

    root = Supervisor(
        "root",
        [
            ChildSpec("reporter", lambda: reporter or Reporter(reasons)),
            ChildSpec("crasher", Crasher),
            ChildSpec("health", health_actor),
        ],
        max_restarts=20,
        period=60.0,
        ping_interval=None,
    )
    await root.start()
    try:
        yield root
    finally:
        await root.stop()


async def test_event_loop_lag_appears_and_clears(tmp_path: Path) -> None:
    bus = EventBus()
    seen = Seen(bus)
    async with health_tree(tmp_path, bus, [], settings=FAST):
        time.sleep(0.5)  # block the event loop in-process: the next timer fires late
        lagging = await seen.until(has("event_loop_lag"), "the lag reason")
        [reason] = [r for r in lagging["reasons"] if r["code"] == "event_loop_lag"]
        assert lagging["status"] == "degraded"
        assert reason["severity"] == "degraded" and "ms late" in reason["detail"]
        assert set(reason) == {"code", "message", "since", "detail", "remediation", "severity"}
        cleared = await seen.until(lacks("event_loop_lag"), "the lag reason to clear")
    assert cleared["status"] == "ok" and cleared["reasons"] == []


async def test_low_disk_appears_and_clears(tmp_path: Path) -> None:
    bus = EventBus()
    seen = Seen(bus)
    with small_disk(tmp_path / "disk", size_bytes=4 * 1024 * 1024) as disk:
        options = {"settings": FAST, "low_disk_bytes": 1024 * 1024}
        async with health_tree(disk.folder, bus, [], **options):
            disk.fill()
            low = await seen.until(has("low_disk_space"), "the low disk reason")
            assert low["status"] == "degraded"
            disk.free()
            cleared = await seen.until(lacks("low_disk_space"), "the low disk reason to clear")
    assert cleared["status"] == "ok"


async def test_an_actor_restarting_repeatedly_appears_and_clears(tmp_path: Path) -> None:
    bus = EventBus()
    seen = Seen(bus)
    # The supervisor backs off between restarts (0.2 s, 0.4 s): three fit in a 1.5 s window.
    settings = replace(FAST, restart_window_s=1.5)
    async with health_tree(tmp_path, bus, [], settings=settings) as root:
        for _ in range(3):
            await root.ref("crasher").tell(Crash())
        noisy = await seen.until(has("actor_restarting"), "the restarting reason")
        [reason] = [r for r in noisy["reasons"] if r["code"] == "actor_restarting"]
        assert "root/crasher (3 restarts)" in reason["detail"]
        # The window slides past the restarts: the reason clears by itself.
        await seen.until(lacks("actor_restarting"), "the restarting reason to clear")


async def test_a_source_reason_appears_and_clears_without_being_asked(tmp_path: Path) -> None:
    bus = EventBus()
    seen = Seen(bus)
    reasons: list[HealthReason] = []
    async with health_tree(tmp_path, bus, reasons, settings=FAST):
        reasons.append(BROKEN)
        bad = await seen.until(has("journal_unwritable"), "the source's reason")
        assert bad == {"kind": "supervisor", "status": "unhealthy", "reasons": [BROKEN.to_dict()]}
        reasons.clear()
        ok = await seen.until(lacks("journal_unwritable"), "the reason to clear")
    assert ok == {"kind": "supervisor", "status": "ok", "reasons": []}
    # Changes only: the bus starts from "ok" with no reasons, so that is never announced alone.
    assert [data["status"] for data in seen.events] == ["unhealthy", "ok"]


async def test_a_check_that_cannot_run_does_not_crash_the_health_actor(tmp_path: Path) -> None:
    data_root = tmp_path / "data"
    data_root.mkdir()
    bus = EventBus()
    reporter = Reporter([])
    async with health_tree(data_root, bus, [], settings=FAST, reporter=reporter) as root:
        data_root.rmdir()  # the disk check now fails with FileNotFoundError at every tick
        asked = reporter.asked
        await wait_until(lambda: reporter.asked >= asked + 5, what="five more checks")
        [health] = [stat for stat in root.stats() if stat.name == "root/health"]
        assert (health.status, health.restarts) == ("running", 0)


def pending(sock: socket.socket) -> list[str]:
    out = []
    for _ in range(10_000):
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            break
    return out


async def receive(sock: socket.socket, timeout: float) -> str:
    async with asyncio.timeout(timeout):
        return (await asyncio.get_running_loop().sock_recv(sock, 4096)).decode()


async def test_the_watchdog_stops_while_unhealthy_and_resumes(
    tmp_path: Path, listener: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sock, path = listener
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "40000")  # a ping every 20 ms
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    notifier = Notifier.from_env()
    bus = EventBus()
    seen = Seen(bus)
    tracker = HealthTracker()
    tracker.follow(bus)
    reasons: list[HealthReason] = []
    async with health_tree(tmp_path, bus, reasons, settings=FAST) as root:
        watchdog = asyncio.ensure_future(
            notifier.run_watchdog(lambda: root.healthy and tracker.ok_to_ping)
        )
        try:
            assert await receive(sock, 5.0) == "WATCHDOG=1"
            reasons.append(BROKEN)
            await seen.until(lambda data: data["status"] == "unhealthy", "unhealthy")
            assert tracker.ok_to_ping is False
            pending(sock)  # a ping sent before the event was seen may still be queued
            with pytest.raises(TimeoutError):  # 15 intervals without a single ping
                await receive(sock, 0.3)
            reasons.clear()
            await seen.until(lambda data: data["status"] == "ok", "ok again")
            assert await receive(sock, 5.0) == "WATCHDOG=1"
        finally:
            watchdog.cancel()
