"""Dependency-free sd_notify: readiness, status, stopping, and a health-gated watchdog."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Mapping

import structlog

log = structlog.get_logger(__name__)


class Notifier:
    """Sends ``KEY=VALUE`` datagrams to ``$NOTIFY_SOCKET``; a no-op without it; never raises."""

    def __init__(self, address: str | None, *, watchdog_usec: int | None = None) -> None:
        if address and address.startswith("@"):
            address = "\0" + address[1:]  # abstract namespace
        self.address = address or None
        self.watchdog_usec = watchdog_usec if watchdog_usec and watchdog_usec > 0 else None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        """Read ``NOTIFY_SOCKET``, ``WATCHDOG_USEC`` and ``WATCHDOG_PID`` (the watchdog is ours
        only when ``WATCHDOG_PID`` is unset or our pid)."""
        env = os.environ if environ is None else environ
        usec: int | None = None
        try:
            pid = env.get("WATCHDOG_PID")
            if pid is None or int(pid) == os.getpid():
                usec = int(env["WATCHDOG_USEC"]) if env.get("WATCHDOG_USEC") else None
        except ValueError:
            log.warning("sd_notify_bad_watchdog_env")
        return cls(env.get("NOTIFY_SOCKET"), watchdog_usec=usec)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds between ``WATCHDOG=1`` pings (half of ``WATCHDOG_USEC``), or None."""
        if self.address is None or self.watchdog_usec is None:
            return None
        return self.watchdog_usec / 2_000_000

    def notify(self, *states: str) -> bool:
        """Send ``states`` (``"READY=1"``, ...) as one datagram; True if it was sent."""
        if self.address is None or not states:
            return False
        data = "\n".join(states).encode("utf-8", "replace")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.setblocking(False)
                sock.sendto(data, self.address)
        except OSError as error:
            log.debug("sd_notify_failed", error=str(error))
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.notify("READY=1", *(() if status is None else (_status_line(status),)))

    def status(self, text: str) -> bool:
        return self.notify(_status_line(text))

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    async def run_watchdog(self, healthy: Callable[[], bool]) -> None:
        """Send ``WATCHDOG=1`` every half of ``WATCHDOG_USEC`` while ``healthy()`` is True.

        Returns at once when the watchdog is not enabled; otherwise runs until cancelled.
        """
        interval = self.watchdog_interval
        if interval is None:
            return
        while True:
            try:
                ok = bool(healthy())
            except Exception as error:
                log.warning("watchdog_health_check_failed", error=str(error))
                ok = False
            if ok:
                self.watchdog()
            else:
                log.debug("watchdog_ping_withheld")
            await asyncio.sleep(interval)


def _status_line(text: str) -> str:
    return "STATUS=" + " ".join(text.split())
