"""A SIGKILLed run.py takes its hung git or pip child with it, even without systemd's cgroup."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import aiohttp
import pytest

from tests.actors.installer.installer_helpers import (
    GitRepo,
    SilentServer,
    plugin_files,
    processes_mentioning,
    registry_entry,
)
from tests.supervisor_process import free_port, plugvisor_command, start_serving
from tests.web.plugin_env import PluginEnv, make_env

pytestmark = pytest.mark.timeout(90)


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def is_alive(pid: int) -> bool:
    """Running, not a zombie waiting for init to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


async def wait_until(predicate, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


async def install_and_kill(env: PluginEnv, silent: SilentServer, plugin_id: str, *extra: str):
    """Start run.py, install ``plugin_id`` (whose child hangs on ``silent``), then SIGKILL
    run.py alone; return the pid of its child that talked to ``silent``."""
    port = free_port()
    command = plugvisor_command(port, env.root / "data", env.registry_path, *extra)
    process = await start_serving(command)
    try:
        url = f"http://127.0.0.1:{port}/api/v3/plugins/install"
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json={"plugin_id": plugin_id}) as response,
        ):
            assert response.status == 202, await response.text()
        async with asyncio.timeout(30):
            await silent.connected.wait()
        children = [
            pid
            for pid in processes_mentioning(f"127.0.0.1:{silent.port}")
            if parent_of(pid) == process.pid
        ]
        assert len(children) == 1, children
    finally:
        process.kill()  # the supervisor only: its child leads a session of its own
        await process.wait()
    return children[0]


async def check_gone(child: int) -> None:
    try:
        await wait_until(lambda: not is_alive(child), timeout=5)
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child, signal.SIGKILL)  # never leave one behind, even when failing


async def test_a_hung_pip_dies_with_the_supervisor(tmp_path: Path, silent: SilentServer) -> None:
    env = make_env(tmp_path)
    repo = GitRepo(tmp_path / "repos" / "slow-dep")
    repo.commit(plugin_files("slow-dep", requirements="plugvisor-remote==1.0\n"), "slow-dep")
    env.add_entry(registry_entry("slow-dep", repo.url))
    index = f"http://127.0.0.1:{silent.port}/simple"
    child = await install_and_kill(env, silent, "slow-dep", "--pip-index-url", index)
    await check_gone(child)


async def test_a_hung_git_dies_with_the_supervisor(tmp_path: Path, silent: SilentServer) -> None:
    env = make_env(tmp_path)
    env.add_entry(registry_entry("hung", f"http://127.0.0.1:{silent.port}/hung.git"))
    child = await install_and_kill(env, silent, "hung")
    await check_gone(child)
