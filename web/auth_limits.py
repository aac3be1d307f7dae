"""Failed token attempts counted per client address; past the limit the address waits.

Pure (the clock is injected) and bounded: at most ``max_clients`` addresses are remembered.
IPv6 clients are counted per /64, the block one machine can pick addresses from.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Record:
    failures: int
    window_start: float
    blocked_until: float = 0.0


class FailureLimiter:
    """``max_failures`` wrong tokens within ``window_s`` block the address for ``lockout_s``."""

    def __init__(
        self,
        *,
        max_failures: int = 10,
        window_s: float = 60.0,
        lockout_s: float = 60.0,
        max_clients: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.lockout_s = lockout_s
        self.max_clients = max_clients
        self._clock = clock
        self._records: dict[str, _Record] = {}

    def retry_after(self, address: str | None) -> int | None:
        """Whole seconds the address must still wait, or None when it may try."""
        record = self._records.get(client_key(address))
        if record is None:
            return None
        left = record.blocked_until - self._clock()
        return max(1, math.ceil(left)) if left > 0 else None

    def failed(self, address: str | None) -> int | None:
        """Count one wrong token; the wait it starts (seconds), if this was one too many."""
        key, now = client_key(address), self._clock()
        record = self._records.get(key)
        if record is None or now - record.window_start >= self.window_s:
            if record is None and len(self._records) >= self.max_clients:
                self._forget(now)
            record = self._records[key] = _Record(0, now)
        record.failures += 1
        if record.failures >= self.max_failures:
            record.failures, record.window_start = 0, now
            record.blocked_until = now + self.lockout_s
            return math.ceil(self.lockout_s)
        return None

    def succeeded(self, address: str | None) -> None:
        self._records.pop(client_key(address), None)

    def __len__(self) -> int:
        return len(self._records)

    def _forget(self, now: float) -> None:
        """Make room: drop what has expired, else the oldest record (never a blocked one
        while another is left)."""
        for key, record in list(self._records.items()):
            if now - record.window_start >= self.window_s and record.blocked_until <= now:
                del self._records[key]
        if len(self._records) >= self.max_clients:
            idle = [k for k, r in self._records.items() if r.blocked_until <= now]
            del self._records[idle[0] if idle else next(iter(self._records))]


def client_key(address: str | None) -> str:
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
