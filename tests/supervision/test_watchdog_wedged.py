"""WATCHDOG=1 pings stop while a permanent actor is wedged, and resume once it recovers."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from supervision_testkit import Block, Worker

from supervision import ChildSpec
from supervision.systemd import Notifier
from tests.polling import wait_until


async def test_pings_withheld_while_actor_is_wedged(tree, journal, tmp_path: Path) -> None:
    path = str(tmp_path / "wd.sock")
    if len(path) > 100:
        pytest.skip("tmp_path too long for an AF_UNIX socket")
    allow_restart = asyncio.Event()

    def factory() -> Worker:
        if journal.count("start:w") and not allow_restart.is_set():
            raise OSError("cannot come back yet")
        return Worker(journal, "w")

    sup = tree(
        "root",
        [ChildSpec("w", factory)],
        ping_interval=0.02,
        ping_timeout=0.2,
        backoff_initial=0.02,
        backoff_max=0.05,
        max_restarts=1000,
    )
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        notifier = Notifier(path, watchdog_usec=20_000)  # a ping every 10 ms when healthy
        await sup.start()
        watchdog = asyncio.ensure_future(notifier.run_watchdog(lambda: sup.healthy))
        try:
            async with asyncio.timeout(15):
                for _ in range(3):
                    assert await loop.sock_recv(sock, 64) == b"WATCHDOG=1"
                await sup.ref("w").tell(Block())
                await wait_until(lambda: not sup.healthy, what="the wedge detected")
                while True:  # throw away what was sent before
                    try:
                        sock.recv(64)
                    except BlockingIOError:
                        break
                with pytest.raises(TimeoutError):  # 20 ping intervals without a ping
                    async with asyncio.timeout(0.2):
                        await loop.sock_recv(sock, 64)
                assert sup.stats()[0].status == "restarting"
                allow_restart.set()
                assert await loop.sock_recv(sock, 64) == b"WATCHDOG=1"
                assert journal.count("start:w") == 2
        finally:
            watchdog.cancel()
            await asyncio.wait({watchdog})
