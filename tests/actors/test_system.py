"""build_system: a typed ref per actor of the tree, the health actor last, one timeout policy."""

from __future__ import annotations

from actors.system import Settings, System, build_system
from actors.timeouts import AskTimeouts

ACTORS = ("history", "config_store", "state", "catalog", "queue", "reconciler", "health")


def test_each_typed_ref_is_the_actor_of_its_name(settings: Settings) -> None:
    system = build_system(settings)
    assert [getattr(system, name).name for name in ACTORS] == [f"root/{n}" for n in ACTORS]
    assert not hasattr(System, "refs")  # one way to reach an actor


async def test_the_health_actor_starts_after_the_others(running_system: System) -> None:
    # The token keeper reads auth.token_file from the config store, so it starts after it.
    started = [*ACTORS[:2], "access", *ACTORS[2:]]
    assert [stat.name for stat in running_system.tree.stats()] == [f"root/{n}" for n in started]
    assert running_system.access_keeper.name == "root/access"


def test_one_timeout_policy_orders_its_waits(settings: Settings) -> None:
    timeouts = settings.timeouts
    assert timeouts == AskTimeouts()
    # A probe ends before the report that waits on it; reads before writes before the network.
    assert timeouts.probe < timeouts.report
    assert timeouts.read <= timeouts.write <= timeouts.network
