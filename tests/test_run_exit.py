"""run.serve's exit codes: 1 when the supervision tree gives up, so systemd restarts the service."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest

import run
from actors.access import AccessToken
from actors.events import EventBus
from actors.paths import DataPaths
from actors.secret_values import SecretValues
from actors.system import Settings, System
from supervision import Actor, ChildSpec, Supervisor, handles


@dataclass(frozen=True, slots=True)
class Boom:
    pass


class CrashesAfterStart(Actor):
    """Starts fine, then crashes on its own message: a fault the tree cannot restart away."""

    async def started(self) -> None:
        self.ref.tell_nowait(Boom())

    @handles(Boom)
    def boom(self, msg: Boom) -> None:
        raise RuntimeError("fault injected by the test")


def crashing_system(settings: Settings, secrets: SecretValues | None = None) -> System:
    paths = DataPaths(settings.data_dir.resolve())
    paths.ensure()
    tree = Supervisor(
        "root",
        [ChildSpec("faulty", CrashesAfterStart)],
        max_restarts=2,
        period=60.0,
        backoff_initial=0.01,
        backoff_max=0.02,
    )
    faulty = tree.ref("faulty")  # the one actor plays every part
    open_access = AccessToken()
    open_access.open()  # a loopback test with no token file
    return System(
        settings=settings,
        paths=paths,
        bus=EventBus(),
        tree=tree,
        config_store=faulty,
        state=faulty,
        history=faulty,
        catalog=faulty,
        queue=faulty,
        health=faulty,
        reconciler=faulty,
        access_keeper=faulty,
        access=open_access,
    )


async def test_root_supervisor_giving_up_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run, "build_system", crashing_system)
    settings = Settings(host="127.0.0.1", port=0, data_dir=tmp_path / "data")
    async with asyncio.timeout(30):
        code = await run.serve(settings)
    assert code == run.EXIT_TREE_FAILED == 1
