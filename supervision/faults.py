"""Fault injection for soaks and crash tests: SIGUSR2 crashes the next named actor, in turn.

Off unless the process starts with ``PLUGVISOR_FAULT_INJECTION`` set (``all``, or child ids
separated by commas); nothing reachable over the network can arm it, and a wall test keeps
``web/`` and ``actors/`` from calling :meth:`Supervisor.inject_crash`. The crash is the one a
bug in a handler causes (``InjectedCrash``): the supervisor restarts the actor and counts
the restart against its intensity, so whoever sends the signals paces them.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Mapping

import structlog

from supervision.supervisor import Supervisor

log = structlog.get_logger(__name__)

ENV = "PLUGVISOR_FAULT_INJECTION"
SIGNAL = signal.SIGUSR2


class FaultInjector:
    """Crashes ``victims`` (child ids of ``tree``) one per :meth:`crash_next`, round robin."""

    def __init__(self, tree: Supervisor, victims: tuple[str, ...]) -> None:
        unknown = sorted(set(victims) - set(tree.child_ids))
        if not victims or unknown:
            raise ValueError(f"{ENV}: unknown or no actors {unknown or victims}")
        self._tree = tree
        self.victims = victims
        self._next = 0
        self.injected = 0

    @classmethod
    def from_env(
        cls, tree: Supervisor, environ: Mapping[str, str] | None = None
    ) -> FaultInjector | None:
        """None unless ``$PLUGVISOR_FAULT_INJECTION`` names actors (or says ``all``)."""
        value = (os.environ if environ is None else environ).get(ENV, "").strip()
        if not value:
            return None
        names = tree.child_ids if value == "all" else tuple(v.strip() for v in value.split(","))
        return cls(tree, names)

    def crash_next(self) -> str | None:
        """Crash the next victim that runs (skipping any being restarted); its id, or None."""
        for _ in range(len(self.victims)):
            victim = self.victims[self._next]
            self._next = (self._next + 1) % len(self.victims)
            if self._tree.inject_crash(victim):
                self.injected += 1
                log.warning("fault_injected", actor=victim, injected=self.injected)
                return victim
        log.warning("fault_not_injected", reason="no victim running")
        return None

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.add_signal_handler(SIGNAL, self.crash_next)
        log.warning("fault_injection_armed", signal=SIGNAL.name, victims=list(self.victims))

    def uninstall(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.remove_signal_handler(SIGNAL)
