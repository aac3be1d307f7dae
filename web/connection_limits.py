"""How many connections the HTTP server holds and for how long, derived from the fd limit."""

from __future__ import annotations

import resource
from dataclasses import dataclass

from actors.system import Settings

# Descriptors kept for everything but client sockets: data files, the journal, history,
# the listening sockets, the threads' and git/pip children's pipes.
MIN_HEADROOM = 64
AUTO_MAX_CONNECTIONS = 1024  # far more than a device's web UI needs, even on a large limit


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """``max_connections`` are served; up to ``refusal_slots`` more are answered 503 (or
    ``/healthz``) and closed; past both, the server stops accepting until one closes."""

    max_connections: int
    refusal_slots: int
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    keepalive_timeout_s: float = 15.0
    # A connection past the limit gets this long to send its request line and headers.
    overflow_timeout_s: float = 1.0
    retry_after_s: int = 5
    accept_backoff_max_s: float = 1.0

    @property
    def hard_cap(self) -> int:
        return self.max_connections + self.refusal_slots


def open_file_limit() -> int:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft


def socket_budget(nofile: int) -> int:
    """The descriptors client sockets may use: the limit less headroom for everything else."""
    if nofile == resource.RLIM_INFINITY or nofile < 0:
        nofile = 1 << 20
    return max(8, nofile - max(MIN_HEADROOM, nofile // 8))


def derive_limits(settings: Settings, nofile: int | None = None) -> ConnectionLimits:
    """Limits for ``settings``; ``settings.max_connections == 0`` derives the cap from the
    process's RLIMIT_NOFILE (or ``nofile``), leaving an eighth of the rest for refusals."""
    budget = socket_budget(open_file_limit() if nofile is None else nofile)
    if settings.max_connections > 0:
        served = settings.max_connections
        refusals = max(4, served // 8)
    else:
        refusals = max(4, budget // 8)
        served = max(1, min(AUTO_MAX_CONNECTIONS, budget - refusals))
    return ConnectionLimits(
        max_connections=served,
        refusal_slots=refusals,
        header_timeout_s=settings.header_timeout_s,
        body_timeout_s=settings.body_timeout_s,
        keepalive_timeout_s=settings.keepalive_timeout_s,
        overflow_timeout_s=min(1.0, settings.header_timeout_s),
    )


def exceeds_budget(limits: ConnectionLimits, nofile: int | None = None) -> bool:
    """True when a configured cap can run the process out of descriptors (warned at boot)."""
    return limits.hard_cap > socket_budget(open_file_limit() if nofile is None else nofile)
