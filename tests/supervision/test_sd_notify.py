"""sd_notify datagrams on a real AF_UNIX socket: READY, STATUS, WATCHDOG pings, STOPPING."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from pathlib import Path

import pytest
from supervision_testkit import worker

from supervision import ChildSpec
from supervision.systemd import Notifier


async def receive(sock: socket.socket, timeout: float = 10.0) -> str:
    async with asyncio.timeout(timeout):
        data = await asyncio.get_running_loop().sock_recv(sock, 4096)
    return data.decode()


def pending(sock: socket.socket) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            return out


async def test_datagrams_arrive_in_order(tree, journal, listener, monkeypatch) -> None:
    sock, path = listener
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "40000")  # a ping every 20 ms
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    notifier = Notifier.from_env()
    assert notifier.enabled and notifier.watchdog_interval == pytest.approx(0.02)

    sup = tree("root", [ChildSpec("w", worker(journal, "w"))])
    notifier.status("Starting…")
    await sup.start()
    assert notifier.ready("Running: 1 actor\nfine")
    watchdog = asyncio.ensure_future(notifier.run_watchdog(lambda: sup.healthy))
    try:
        assert await receive(sock) == "STATUS=Starting…"
        assert await receive(sock) == "READY=1\nSTATUS=Running: 1 actor fine"
        for _ in range(3):
            assert await receive(sock) == "WATCHDOG=1"
    finally:
        watchdog.cancel()
        await asyncio.wait({watchdog})
    assert notifier.stopping()
    await sup.stop()
    rest = pending(sock)
    assert rest[-1] == "STOPPING=1"
    assert set(rest[:-1]) <= {"WATCHDOG=1"}


async def test_abstract_socket(monkeypatch) -> None:
    name = f"plugvisor-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.setblocking(False)
        notifier = Notifier.from_env({"NOTIFY_SOCKET": "@" + name})
        assert notifier.notify("READY=1")
        assert await receive(sock) == "READY=1"


async def test_without_notify_socket_everything_is_a_noop() -> None:
    notifier = Notifier.from_env({"WATCHDOG_USEC": "1000000"})
    assert not notifier.enabled
    assert notifier.watchdog_interval is None
    assert notifier.ready() is False
    assert notifier.stopping() is False
    async with asyncio.timeout(10):
        await notifier.run_watchdog(lambda: True)  # returns at once


async def test_failures_never_raise(tmp_path: Path) -> None:
    notifier = Notifier(str(tmp_path / "nobody-listens"), watchdog_usec=1_000_000)
    assert notifier.notify("READY=1") is False
    assert (
        Notifier.from_env({"NOTIFY_SOCKET": "x", "WATCHDOG_USEC": "soon"}).watchdog_interval is None
    )


def test_watchdog_pid_decides_whose_watchdog_it_is() -> None:
    env = {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000"}
    assert Notifier.from_env(env).watchdog_interval == 15.0
    assert Notifier.from_env({**env, "WATCHDOG_PID": str(os.getpid())}).watchdog_interval == 15.0
    assert (
        Notifier.from_env({**env, "WATCHDOG_PID": str(os.getpid() + 1)}).watchdog_interval is None
    )


async def test_health_check_errors_withhold_the_ping(listener) -> None:
    sock, path = listener
    calls = []

    def healthy() -> bool:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("health check broke")
        return True

    notifier = Notifier(path, watchdog_usec=20_000)
    watchdog = asyncio.ensure_future(notifier.run_watchdog(healthy))
    try:
        assert await receive(sock) == "WATCHDOG=1"
    finally:
        watchdog.cancel()
        await asyncio.wait({watchdog})
    assert len(calls) >= 3
