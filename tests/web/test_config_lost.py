"""config.json and its backups deleted on a used device: reported, recorded, secrets set aside."""

from __future__ import annotations

import asyncio
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.web.plugin_env import RunningApi, make_env
from tests.web.secret_plugin import add_vault

pytestmark = pytest.mark.timeout(90)


async def _history(api: RunningApi, query: str) -> list[dict[str, Any]]:
    """Poll (bounded) until the history holds a record for ``query``: it is written async."""
    async with asyncio.timeout(10):
        while True:
            status, body = await api.get(f"/api/v3/plugins/operation/history?{query}")
            assert status == 200, body
            if body["data"]:
                return body["data"]
            await asyncio.sleep(0.02)


async def test_a_lost_configuration_is_loud_and_its_secrets_are_set_aside(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    add_vault(env)
    settings = env.settings()
    async with RunningApi(settings) as api:
        status, body = await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": "vault"})
        assert status == 200, body
        saved = {"plugin_id": "vault", "config": {"token": "s3cret", "label": "mine"}}
        status, body = await api.post("/api/v3/plugins/config", saved)
        assert status == 200, body
    config_dir = settings.data_dir / "config"
    secrets = config_dir / "config_secrets.json"
    secrets_inode = secrets.stat().st_ino
    (config_dir / "config.json").unlink()
    shutil.rmtree(config_dir / "backups")

    async with RunningApi(settings) as api:
        status, health = await api.get("/api/v3/supervisor/health")
        assert status == 503, health
        assert health["data"]["status"] == "unhealthy"
        [aside] = config_dir.glob("config_secrets.json.lost-*")
        assert aside.stat().st_ino == secrets_inode and b"s3cret" in aside.read_bytes()
        assert stat.S_IMODE(aside.stat().st_mode) == 0o600
        [reason] = [r for r in health["data"]["reasons"] if r["code"] == "config_lost"]
        assert reason == {
            "code": "config_lost",
            "message": "The configuration was lost; the shipped defaults are in use",
            "since": reason["since"],
            "detail": "config.json and its backups are missing, but the device was used before "
            "(a secrets file, 1 installed plugin(s), the plugin state, the operation history, "
            "the operation journal); the shipped defaults were written; the secrets file of the "
            f"lost configuration was set aside as config/{aside.name}",
            "remediation": "Set the plugins' settings and the system settings again; the old "
            f"secrets are in config/{aside.name} (mode 0600): delete it once you no longer "
            "need them",
            "severity": "unhealthy",
        }

        # the old secret is not paired with the defaults: neither stored nor shown as set
        assert not secrets.exists()
        status, body = await api.get("/api/v3/plugins/config?plugin_id=vault")
        assert status == 200, body
        assert body["data"]["label"] == "vault" and "token" not in body["data"]

        [record] = await _history(api, "operation_type=config_restore")
        assert record == {
            "operation_id": record["operation_id"],
            "operation_type": "config_restore",
            "plugin_id": None,
            "timestamp": record["timestamp"],
            "status": "failed",
            "user": "local",
            "details": {
                "generation": record["details"]["generation"],
                "backup_id": None,
                "reason": "config_lost",
                "evidence": [
                    "a secrets file",
                    "1 installed plugin(s)",
                    "the plugin state",
                    "the operation history",
                    "the operation journal",
                ],
                "defaults_written": True,
                "secrets_set_aside": f"config/{aside.name}",
            },
            "error": "The configuration was lost; the shipped defaults were written",
        }
