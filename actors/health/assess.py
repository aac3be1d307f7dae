"""How healthy the supervisor is: severities of actors and reasons, the disk check, the verdict."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from actors.health.messages import ActorHealth, DiskCheck, SupervisorHealth
from actors.health_reasons import GetHealthReasons, HealthReason
from actors.timeutil import now_iso
from supervision import ActorRef, ActorStats, Supervisor

# Less free space than this on the data partition degrades the supervisor: an install or a
# config save could fail half-way for lack of room.
LOW_DISK_BYTES = 64 * 1024 * 1024

OK, DEGRADED, UNHEALTHY = "ok", "degraded", "unhealthy"
_RANK = {OK: 0, DEGRADED: 1, UNHEALTHY: 2}
# An actor that runs is fine, one on its way up is degraded; stopped or failed is unhealthy.
_ACTOR_STATUS = {"running": OK, "starting": DEGRADED, "restarting": DEGRADED}


def actor_health(stat: ActorStats) -> ActorHealth:
    return ActorHealth(
        name=stat.name,
        status=_ACTOR_STATUS.get(stat.status, UNHEALTHY),
        state=stat.status,
        restarts=stat.restarts,
        last_error=stat.last_error,
        last_restart_at=stat.last_restart_at,
        mailbox_depth=stat.mailbox_depth,
        processed=stat.processed,
    )


def worst(statuses: Iterable[str]) -> str:
    return max(statuses, key=_RANK.__getitem__, default=OK)


def overall(
    tree_healthy: bool, actors: Iterable[ActorHealth], reasons: Iterable[HealthReason]
) -> str:
    """The worst of every actor and every reason; a tree that is not healthy is degraded."""
    base = OK if tree_healthy else DEGRADED
    return worst([base, *(actor.status for actor in actors), *(r.severity for r in reasons)])


def unresponsive(name: str, error: BaseException) -> HealthReason:
    """The reason given for a component that did not say how it is."""
    return HealthReason(
        code="actor_unresponsive",
        message=f"Component '{name}' did not report its health",
        since=now_iso(),
        detail=type(error).__name__,
        remediation="It restarts automatically; if this persists, restart the service",
    )


async def ask_reasons(sources: Sequence[ActorRef], timeout: float) -> list[HealthReason]:
    """Every source's reasons, asked at once; one that cannot answer is itself a reason."""

    async def one(ref: ActorRef) -> list[HealthReason]:
        try:
            return list(await ref.ask(GetHealthReasons(), timeout=timeout))
        except Exception as exc:  # crashed, stopped, timed out or failing: all say the same
            return [unresponsive(ref.name, exc)]

    answers = await asyncio.gather(*(one(ref) for ref in sources))
    return [reason for answer in answers for reason in answer]


async def check_disk(root: Path, low_disk_bytes: int) -> tuple[DiskCheck, HealthReason | None]:
    usage = await asyncio.to_thread(shutil.disk_usage, root)
    low = usage.free < low_disk_bytes
    check = DiskCheck(DEGRADED if low else OK, usage.free, usage.total)
    if not low:
        return check, None
    return check, HealthReason(
        code="low_disk_space",
        message="The data partition is almost full",
        since=now_iso(),
        detail=f"{usage.free // (1024 * 1024)} MiB free",
        remediation="Remove unused plugins or files to free space",
    )


async def assess(
    tree: Supervisor,
    reasons: Sequence[HealthReason],
    data_root: Path,
    *,
    low_disk_bytes: int = LOW_DISK_BYTES,
) -> SupervisorHealth:
    """The tree's actors, ``reasons`` and the disk check, with the overall status."""
    actors = tuple(actor_health(stat) for stat in tree.stats())
    disk, disk_reason = await check_disk(data_root, low_disk_bytes)
    every = (*reasons, disk_reason) if disk_reason is not None else tuple(reasons)
    return SupervisorHealth(overall(tree.healthy, actors, every), actors, every, disk)


async def assess_without_actor(
    tree: Supervisor, data_root: Path, health_actor: str, error: BaseException
) -> SupervisorHealth:
    """The health when the health actor cannot answer (the tree stopped or gave up): what
    the tree and the disk show, and the health actor's silence as a reason."""
    return await assess(tree, [unresponsive(health_actor, error)], data_root)
