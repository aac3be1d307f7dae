"""Backups and restore over HTTP, and the hostile cases: huge bodies and a full disk."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from actors.system import Settings, System, build_system
from tests.conftest import FIXTURES
from tests.small_disk import SmallDisk, small_disk
from tests.web.payloads import A_TIME, error, invalid, stamped
from web.app import create_app

MALFORMED_ID = invalid("backup_id", "'backup_id' is not a backup id")
TOO_LARGE = error(
    "PAYLOAD_TOO_LARGE",
    "system",
    "Request body is larger than the limit of 1024 KiB",
    {"limit_bytes": 1048576},
)


@pytest.fixture(autouse=True)
def plugins(running_system: System) -> None:
    shutil.copytree(FIXTURES / "clock-simple", running_system.paths.plugins_dir / "clock-simple")


async def save_clock(client: TestClient, x: int) -> str:
    body = {"plugin_id": "clock-simple", "config": {"position_x": x}}
    response = await client.post("/api/v3/plugins/config", json=body)
    assert response.status == 200
    return (await response.json())["data"]["backup_id"]


async def clock_x(client: TestClient) -> int:
    response = await client.get("/api/v3/plugins/config", params={"plugin_id": "clock-simple"})
    return (await response.json())["data"]["position_x"]


async def test_list_and_restore_by_id(client: TestClient, running_system: System) -> None:
    made = [await save_clock(client, x) for x in range(1, 8)]
    response = await client.get("/api/v3/config/backups")
    assert response.status == 200
    listed = await response.json()
    backups = running_system.paths.config_dir / "backups"
    assert {**listed, "data": [stamped(b, "created_at") for b in listed["data"]]} == {
        "status": "success",
        "data": [
            {
                "backup_id": backup_id,
                "created_at": A_TIME,
                "size": (backups / f"{backup_id}.json").stat().st_size,
                "valid": True,
            }
            for backup_id in made[::-1][:5]  # the newest five are kept
        ],
    }
    target = made[3]  # the state before the 4th save: position_x == 3
    restored = await client.post(f"/api/v3/config/backups/{target}/restore")
    assert restored.status == 200
    payload = await restored.json()
    pre_restore = payload["data"]["backup_id"]
    assert re.fullmatch(r"\d+-8", pre_restore)  # the 7 saves made generation 8
    assert payload == {
        "status": "success",
        "data": {"restored_backup_id": target, "generation": 9, "backup_id": pre_restore},
        "message": f"Configuration restored from backup {target}",
    }
    assert await clock_x(client) == 3
    newest = (await (await client.get("/api/v3/config/backups")).json())["data"][0]
    assert newest["backup_id"] == pre_restore  # the pre-restore state is kept
    await client.post(f"/api/v3/config/backups/{newest['backup_id']}/restore")
    assert await clock_x(client) == 7


async def test_restore_unknown_or_malformed_backup(client: TestClient) -> None:
    unknown = await client.post("/api/v3/config/backups/123-4/restore")
    assert unknown.status == 404
    assert await unknown.json() == {
        "status": "error",
        "error_code": "NOT_FOUND",
        "error_category": "system",
        "message": "No backup '123-4'",
        "context": {"backup_id": "123-4"},
    }
    malformed = await client.post("/api/v3/config/backups/..%2Fconfig/restore")
    assert malformed.status == 400
    assert await malformed.json() == MALFORMED_ID


async def test_body_over_one_mebibyte_is_413(client: TestClient, running_system: System) -> None:
    before = (running_system.paths.config_dir / "config.json").read_bytes()
    huge = {"plugin_id": "clock-simple", "config": {"x": "a" * (1024 * 1024)}}
    response = await client.post("/api/v3/plugins/config", data=io.BytesIO(orjson.dumps(huge)))
    assert response.status == 413
    assert await response.json() == TOO_LARGE
    raw = b'{"timezone": "' + b"x" * 2**20 + b'"}'
    main = await client.post("/api/v3/config/main", data=io.BytesIO(raw))
    assert main.status == 413
    assert await main.json() == TOO_LARGE
    assert (running_system.paths.config_dir / "config.json").read_bytes() == before


@pytest.fixture
async def disk_client(
    tmp_path: Path, with_settings: Callable[..., Settings]
) -> AsyncIterator[tuple[TestClient, System, SmallDisk]]:
    """A system whose data dir is on a real 512 KiB tmpfs (skipped where none can be mounted)."""
    with small_disk(tmp_path / "small") as disk:
        system = build_system(with_settings(data_dir=tmp_path / "small" / "data"))
        shutil.copytree(FIXTURES / "clock-simple", system.paths.plugins_dir / "clock-simple")
        await system.tree.start()
        try:
            async with TestClient(TestServer(create_app(system), host="127.0.0.1")) as client:
                yield client, system, disk
        finally:
            await system.tree.stop()


async def test_full_disk_is_507_and_the_previous_config_stays(
    disk_client: tuple[TestClient, System, SmallDisk],
) -> None:
    client, system, disk = disk_client
    await save_clock(client, 5)
    config_dir = system.paths.config_dir
    before = {p.name: p.read_bytes() for p in config_dir.rglob("*") if p.is_file()}
    disk.fill()
    body = {"plugin_id": "clock-simple", "config": {"position_x": 6}}
    response = await client.post("/api/v3/plugins/config", json=body)
    assert response.status == 507
    assert await response.json() == {
        "status": "error",
        "error_code": "INSUFFICIENT_STORAGE",
        "error_category": "system",
        "message": "Not enough free space to save the configuration",
        "suggested_fixes": ["Free space on the device's data partition and try again"],
    }
    assert await clock_x(client) == 5
    assert {p.name: p.read_bytes() for p in config_dir.rglob("*") if p.is_file()} == before


async def test_torn_config_at_start_shows_in_supervisor_health(
    tmp_path: Path, with_settings: Callable[..., Settings]
) -> None:
    settings = with_settings(data_dir=tmp_path / "torn")
    first = build_system(settings)
    shutil.copytree(FIXTURES / "clock-simple", first.paths.plugins_dir / "clock-simple")
    await first.tree.start()
    try:
        async with TestClient(TestServer(create_app(first), host="127.0.0.1")) as client:
            await save_clock(client, 4)
            await save_clock(client, 9)
    finally:
        await first.tree.stop()
    live = first.paths.config_dir / "config.json"
    live.write_bytes(live.read_bytes()[:100])  # torn by a power cut
    second = build_system(settings)
    await second.tree.start()
    try:
        async with TestClient(TestServer(create_app(second), host="127.0.0.1")) as client:
            health = await (await client.get("/api/v3/supervisor/health")).json()
            assert health["data"]["status"] == "degraded"
            [reason] = [r for r in health["data"]["reasons"] if r["code"].startswith("config_")]
            assert reason["code"] == "config_restored_from_backup"
            assert reason["detail"] == "config.json is not valid JSON (torn or damaged)"
            assert set(reason) >= {"code", "message", "since", "detail", "remediation"}
            assert await clock_x(client) == 4  # the newest valid backup, not the defaults
    finally:
        await second.tree.stop()
