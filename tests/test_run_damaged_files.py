"""A damaged file under the data dir never stops run.py: set aside, named in health, served."""

from __future__ import annotations

import asyncio
import shutil
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.supervisor_process import free_port, plugvisor_command, start_serving
from tests.web.plugin_env import PluginEnv, RunningApi, make_env
from tests.web.secret_plugin import add_vault

pytestmark = pytest.mark.timeout(90)

GARBAGE = b"\x00\xff\xfe not what this file should hold \x13\x37\n\x80{[\n" * 64


@dataclass(frozen=True)
class Case:
    path: str  # relative to the data dir; a glob picks the newest match
    damage: str  # "dir": a directory where a file should be; "garbage"; "file": a file for a dir
    reason: str  # the health reason's code
    offline: bool = False  # start with the registry unreachable (the cache is read only then)


CASES = {
    "config-dir": Case("config/config.json", "dir", "config_restored_from_backup"),
    "config-garbage": Case("config/config.json", "garbage", "config_restored_from_backup"),
    "secrets-dir": Case("config/config_secrets.json", "dir", "damaged_file_set_aside"),
    "secrets-garbage": Case("config/config_secrets.json", "garbage", "damaged_file_set_aside"),
    "backups-file": Case("config/backups", "file", "damaged_file_set_aside"),
    "backup-dir": Case("config/backups/*[0-9].json", "dir", "damaged_file_set_aside"),
    "journal-dir": Case("journal/operations.jsonl", "dir", "damaged_file_set_aside"),
    "journal-garbage": Case("journal/operations.jsonl", "garbage", "damaged_file_set_aside"),
    "history-dir": Case("history/operations-*.jsonl", "dir", "damaged_file_set_aside"),
    "history-garbage": Case("history/operations-*.jsonl", "garbage", "damaged_file_set_aside"),
    "tombstones-dir": Case("plugins/.tombstones.json", "dir", "damaged_file_set_aside"),
    "tombstones-garbage": Case("plugins/.tombstones.json", "garbage", "damaged_file_set_aside"),
    "cache-dir": Case("cache/registry-*.json", "dir", "damaged_file_set_aside", offline=True),
    "cache-garbage": Case(
        "cache/registry-*.json", "garbage", "damaged_file_set_aside", offline=True
    ),
    **{
        f"{folder}-folder-is-a-file": Case(folder, "file", "damaged_file_set_aside")
        for folder in ("config", "plugins", "state", "history", "journal", "tmp", "cache")
    },
}


async def _use_the_device(env: PluginEnv) -> None:
    """Leave every file the process reads at start: config, secrets, backups, journal, ..."""
    add_vault(env)
    async with RunningApi(env.settings()) as api:
        for plugin_id in ("vault", "clock"):
            status, body = await api.post(
                "/api/v3/plugins/install?wait=true", {"plugin_id": plugin_id}
            )
            assert status == 200, body
        config = {"plugin_id": "vault", "config": {"token": "s3cret", "label": "a"}}
        status, body = await api.post("/api/v3/plugins/config", config)
        assert status == 200, body
        status, body = await api.post(
            "/api/v3/plugins/config", {**config, "config": {"label": "b"}}
        )
        assert status == 200, body
        status, body = await api.post("/api/v3/plugins/uninstall?wait=true", {"plugin_id": "clock"})
        assert status == 200, body
        # Written again after start: the queue's recovery may sweep a first write's temp file.
        status, body = await api.post("/api/v3/plugins/store/refresh")
        assert status == 200, body


@pytest.fixture(scope="module")
def used_device(tmp_path_factory: pytest.TempPathFactory) -> PluginEnv:
    env = make_env(tmp_path_factory.mktemp("used"))
    asyncio.run(_use_the_device(env))
    data = env.root / "data"
    for expected in (
        "config/config.json",
        "config/config_secrets.json",
        "journal/operations.jsonl",
        "history/operations-0001.jsonl",
        "plugins/.tombstones.json",
    ):
        assert (data / expected).is_file(), expected
    assert list((data / "cache").glob("registry-*.json"))
    assert list((data / "config" / "backups").glob("*[0-9].json"))
    return env


def _target(data: Path, pattern: str) -> Path:
    if "*" not in pattern:
        return data / pattern
    matches = sorted((data / pattern).parent.glob(Path(pattern).name))
    assert matches, pattern
    return matches[-1]


def _damage(target: Path, damage: str) -> Callable[[Path], bool]:
    """Damage ``target``; return a check that a set-aside entry is the damaged item itself."""
    if target.is_dir():
        shutil.rmtree(target)
    else:
        target.unlink()
    if damage == "dir":
        target.mkdir()
        (target / "stray").write_bytes(b"stray")
        return lambda aside: aside.is_dir() and (aside / "stray").read_bytes() == b"stray"
    target.write_bytes(GARBAGE)
    return lambda aside: aside.is_file() and aside.read_bytes() == GARBAGE


async def _health(session: aiohttp.ClientSession, base: str, code: str) -> dict[str, Any]:
    """Poll the supervisor health (bounded) until a reason with ``code`` shows."""
    async with asyncio.timeout(15):
        while True:
            async with session.get(f"{base}/api/v3/supervisor/health") as response:
                assert response.status in (200, 503)
                health = (await response.json())["data"]
            if any(reason["code"] == code for reason in health["reasons"]):
                return health
            await asyncio.sleep(0.05)


@pytest.fixture
async def stop_later() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    started: list[asyncio.subprocess.Process] = []
    yield started
    for process in started:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(20):
                    await process.wait()
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()


@pytest.mark.parametrize("name", list(CASES))
async def test_a_damaged_file_is_set_aside_reported_and_the_process_serves(
    name: str, used_device: PluginEnv, tmp_path: Path, stop_later: list
) -> None:
    case = CASES[name]
    data = tmp_path / "data"
    shutil.copytree(used_device.root / "data", data, symlinks=True)
    registry = used_device.registry_path  # the cache file is named after this source
    target = _target(data, case.path)
    is_damaged_item = _damage(target, case.damage)
    hidden = registry.with_name("registry.hidden")
    if case.offline:
        registry.rename(hidden)
    try:
        port = free_port()
        process = await start_serving(plugvisor_command(port, data, registry))
        stop_later.append(process)
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:
            health = await _health(session, base, case.reason)
            async with session.get(f"{base}/api/v3/plugins/installed") as response:
                assert response.status == 200
    finally:
        if case.offline:
            hidden.rename(registry)

    asides = sorted(target.parent.glob(f"{target.name}.damaged-*"))
    assert len(asides) == 1, sorted(p.name for p in target.parent.iterdir())
    assert is_damaged_item(asides[0])
    [reason] = [
        r for r in health["reasons"] if asides[0].name in f"{r['detail']} {r['remediation']}"
    ]
    assert reason["code"] == case.reason
    assert reason["message"] and reason["since"] and reason["remediation"]
    if reason["code"] == "damaged_file_set_aside":
        assert reason["message"].startswith(f"{target.relative_to(data).as_posix()} was damaged")
        assert "Lost: " in reason["detail"]  # what went with it
    assert "/" + str(tmp_path).strip("/") not in str(reason)  # no absolute paths
    if case.damage == "file":
        assert target.is_dir()  # the folder the file stood in for is back
