"""Supervisor health: the health actor gathers the tree's stats, every reason and the checks."""

from actors.health.actor import HealthActor
from actors.health.assess import LOW_DISK_BYTES, assess, assess_without_actor
from actors.health.messages import ActorHealth, DiskCheck, GetSupervisorHealth, SupervisorHealth

__all__ = [
    "LOW_DISK_BYTES",
    "ActorHealth",
    "DiskCheck",
    "GetSupervisorHealth",
    "HealthActor",
    "SupervisorHealth",
    "assess",
    "assess_without_actor",
]
