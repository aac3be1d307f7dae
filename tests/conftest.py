"""Fixtures shared by the whole suite: a real system on a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from actors.reconciler import GetLastReconcile
from actors.system import Settings, System, build_system
from tests.actors.installer.installer_helpers import SilentServer
from tests.polling import wait_until
from web.app import create_app

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT.parent / "shared" / "fixtures" / "ledmatrix-plugins"


async def start_reconciled(system: System) -> None:
    """Wait (bounded) for the reconciliation every start runs, so a test's own changes to the
    data dir cannot race it."""
    await wait_until(
        lambda: system.reconciler.ask(GetLastReconcile(), timeout=5.0),
        what="the reconciliation at start",
        timeout=30.0,
    )


@pytest.fixture
async def silent() -> AsyncIterator[SilentServer]:
    """A TCP server that accepts and never answers: a hung git clone or download."""
    server = SilentServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A real sd_notify socket: (the bound datagram socket, its path for NOTIFY_SOCKET)."""
    path = tmp_path / "notify.sock"
    if len(str(path)) > 100:  # AF_UNIX paths are short
        pytest.skip("tmp_path too long for an AF_UNIX socket")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    try:
        yield sock, str(path)
    finally:
        sock.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    registry = tmp_path / "registry.json"
    registry.write_text('{"plugins": []}')
    return Settings(data_dir=tmp_path / "data", registry_url=str(registry))


@pytest.fixture
async def running_system(settings: Settings) -> AsyncIterator[System]:
    system = build_system(settings)
    await system.tree.start()
    try:
        await start_reconciled(system)
        yield system
    finally:
        await system.tree.stop()


@pytest.fixture
async def client(running_system: System) -> AsyncIterator[TestClient]:
    server = TestServer(create_app(running_system), host="127.0.0.1")
    async with TestClient(server) as test_client:
        yield test_client


@pytest.fixture
def with_settings(settings: Settings) -> Callable[..., Settings]:
    def make(**changes: object) -> Settings:
        return replace(settings, **changes)

    return make
