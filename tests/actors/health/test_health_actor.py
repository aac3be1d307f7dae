"""The health actor: the worst of every actor and reason, silent components, the disk, bursts."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from actors.health import (
    ActorHealth,
    GetSupervisorHealth,
    HealthActor,
    SupervisorHealth,
    assess_without_actor,
)
from actors.health_reasons import GetHealthReasons, HealthReason
from supervision import Actor, ChildSpec, Supervisor, handles

PROBE_S = 0.3
BROKEN = HealthReason(
    code="journal_unwritable",
    message="Operations cannot be recorded",
    since="2026-11-26T10:12:32.123Z",
    severity="unhealthy",
)


class Reporter(Actor):
    """Answers ``GetHealthReasons`` with the reasons it is given."""

    def __init__(self, reasons: list[HealthReason]) -> None:
        super().__init__()
        self.reasons = reasons

    @handles(GetHealthReasons)
    def health_reasons(self, msg: GetHealthReasons) -> list[HealthReason]:
        return list(self.reasons)


class Silent(Actor):
    """Answers ``GetHealthReasons`` only once ``release`` is set (bounded, so it never hangs)."""

    def __init__(self, release: asyncio.Event) -> None:
        super().__init__()
        self.release = release

    @handles(GetHealthReasons)
    async def health_reasons(self, msg: GetHealthReasons) -> list[HealthReason]:
        async with asyncio.timeout(10):
            await self.release.wait()
        return []


@dataclass
class Tree:
    root: Supervisor

    async def report(self) -> SupervisorHealth:
        return await self.root.ref("health").ask(GetSupervisorHealth(), timeout=10)


@asynccontextmanager
async def tree_of(
    reporters: dict[str, Actor], data_root: Path, **health: int
) -> AsyncIterator[Tree]:
    def health_actor() -> HealthActor:
        sources = [root.ref(name) for name in reporters]
        return HealthActor(root, sources, data_root, probe_timeout_s=PROBE_S, **health)

    specs = [ChildSpec(name, lambda actor=actor: actor) for name, actor in reporters.items()]
    root = Supervisor("root", [*specs, ChildSpec("health", health_actor)], ping_interval=None)
    await root.start()
    try:
        yield Tree(root)
    finally:
        await root.stop()


def entry(name: str, processed: int) -> ActorHealth:
    return ActorHealth(name, "ok", "running", 0, None, None, 0, processed)


async def test_the_worst_reason_decides_and_every_actor_is_listed(tmp_path: Path) -> None:
    reporters: dict[str, Actor] = {"calm": Reporter([]), "worried": Reporter([BROKEN])}
    async with tree_of(reporters, tmp_path) as tree:
        report = await tree.report()
    assert report.status == "unhealthy"
    assert report.reasons == (BROKEN,)
    assert report.actors == (
        entry("root/calm", 1),
        entry("root/worried", 1),
        entry("root/health", 0),  # counted once its answer is given
    )
    assert report.disk.status == "ok" and report.disk.free_bytes > 0
    assert report.checks == {"disk": report.disk.to_dict()}


async def test_a_healthy_tree_with_no_reasons_is_ok(tmp_path: Path) -> None:
    async with tree_of({"calm": Reporter([])}, tmp_path) as tree:
        report = await tree.report()
    assert (report.status, report.reasons) == ("ok", ())


async def test_a_component_that_does_not_answer_is_a_degraded_reason(tmp_path: Path) -> None:
    release = asyncio.Event()
    reporters: dict[str, Actor] = {"silent": Silent(release), "calm": Reporter([])}
    async with tree_of(reporters, tmp_path) as tree:
        try:
            report = await tree.report()
        finally:
            release.set()
    [reason] = report.reasons
    assert (reason.code, reason.severity, reason.detail) == (
        "actor_unresponsive",
        "degraded",
        "AskTimeout",
    )
    assert reason.message == "Component 'root/silent' did not report its health"
    assert report.status == "degraded"


async def test_less_free_space_than_the_threshold_degrades(tmp_path: Path) -> None:
    total = shutil.disk_usage(tmp_path).total
    async with tree_of({"calm": Reporter([])}, tmp_path, low_disk_bytes=total + 1) as tree:
        report = await tree.report()
    assert report.status == "degraded"
    assert report.disk.status == "degraded"
    [reason] = report.reasons
    assert reason.code == "low_disk_space" and reason.detail.endswith("MiB free")


async def test_a_burst_of_requests_shares_one_assessment(tmp_path: Path) -> None:
    release = asyncio.Event()
    async with tree_of({"silent": Silent(release)}, tmp_path) as tree:
        try:
            reports = await asyncio.gather(*(tree.report() for _ in range(8)))
        finally:
            release.set()
    # One probe of the silent actor, not eight in a row: every request got the same report.
    assert all(report is reports[0] for report in reports)


async def test_without_the_health_actor_the_tree_and_disk_still_speak(tmp_path: Path) -> None:
    async with tree_of({"calm": Reporter([])}, tmp_path) as tree:
        pass  # stopped on leaving
    report = await assess_without_actor(tree.root, tmp_path, "root/health", ConnectionError("gone"))
    assert report.status == "unhealthy"
    assert [(a.name, a.status, a.state) for a in report.actors] == [
        ("root/calm", "unhealthy", "stopped"),
        ("root/health", "unhealthy", "stopped"),
    ]
    [reason] = report.reasons
    assert (reason.code, reason.detail) == ("actor_unresponsive", "ConnectionError")
    assert reason.message == "Component 'root/health' did not report its health"
