"""The health actor: answers the supervisor's health from the tree, every reason and the disk."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from actors.damage import Damage
from actors.health.assess import LOW_DISK_BYTES, ask_reasons, assess
from actors.health.messages import GetSupervisorHealth, SupervisorHealth
from supervision import Actor, ActorRef, Supervisor, handles

_BATCH = 64  # health requests answered by one assessment


class HealthActor(Actor):
    """``tree`` is the tree it reports on (its own), ``sources`` the actors answering
    ``GetHealthReasons``, ``data_root`` the folder whose partition is checked for space."""

    def __init__(
        self,
        tree: Supervisor,
        sources: Sequence[ActorRef],
        data_root: Path,
        *,
        probe_timeout_s: float,
        low_disk_bytes: int = LOW_DISK_BYTES,
        damage: Damage | None = None,
    ) -> None:
        super().__init__()
        self._tree = tree
        self._sources = tuple(sources)
        self._data_root = data_root
        self._probe_timeout_s = probe_timeout_s
        self._low_disk_bytes = low_disk_bytes
        self._damage = damage  # files set aside at start: reasons no actor answers for

    @handles(GetSupervisorHealth)
    async def supervisor_health(self, msg: GetSupervisorHealth) -> SupervisorHealth:
        # Requests already waiting share this assessment: a slow probe must not make a burst
        # of requests wait for one assessment each.
        waiting = self.drain(lambda queued: isinstance(queued, GetSupervisorHealth), _BATCH)
        reasons = await ask_reasons(self._sources, self._probe_timeout_s)
        if self._damage is not None:
            reasons.extend(self._damage.reasons())
        report = await assess(
            self._tree, reasons, self._data_root, low_disk_bytes=self._low_disk_bytes
        )
        for envelope in waiting:
            envelope.reply(report)
        return report
