"""Every path that changes a plugin's truth moves every view of it: side paths, a lost state
file, a manifest the install refuses. Over a real server, exact answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import orjson

from tests.actors.installer.installer_helpers import plugin_files, zip_bytes
from tests.web.plugin_env import RunningApi, make_env

STATE, INSTALLED = "/api/v3/plugins/state", "/api/v3/plugins/installed"


async def views(api: RunningApi, plugin_id: str) -> tuple[Any, Any, Any]:
    """``enabled`` as the config, the state and the installed listing show it."""
    _, config = await api.get(f"/api/v3/plugins/config?plugin_id={plugin_id}")
    _, state = await api.get(f"{STATE}?plugin_id={plugin_id}")
    _, listing = await api.get(INSTALLED)
    listed = {p["id"]: p for p in listing["data"]["plugins"]}
    return config["data"]["enabled"], state["data"]["enabled"], listed[plugin_id]["enabled"]


async def test_a_config_save_with_enabled_and_a_backup_restore_move_every_view(
    tmp_path: Path,
) -> None:
    env = make_env(tmp_path)
    async with RunningApi(env.settings()) as api:
        status, _ = await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": "clock"})
        assert status == 200
        assert await views(api, "clock") == (True, True, True)
        status, saved = await api.post(
            "/api/v3/plugins/config", {"plugin_id": "clock", "config": {"enabled": False}}
        )
        assert status == 200, saved
        assert await views(api, "clock") == (False, False, False)
        _, backups = await api.get("/api/v3/config/backups")
        newest = backups["data"][0]["backup_id"]  # taken just before that save: enabled
        status, _ = await api.post(f"/api/v3/config/backups/{newest}/restore")
        assert status == 200
        assert await views(api, "clock") == (True, True, True)
        _, state = await api.get(f"{STATE}?plugin_id=clock")
        assert state["data"]["status"] == "enabled"


async def test_a_lost_state_file_is_rebuilt_from_config_and_said(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    settings = env.settings()
    async with RunningApi(settings) as api:
        for plugin in ("clock", "ticker"):
            status, _ = await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": plugin})
            assert status == 200
        status, _ = await api.post(
            "/api/v3/plugins/toggle", {"plugin_id": "ticker", "enabled": False}
        )
        assert status == 200
    (settings.data_dir / "state" / "plugin_state.json").unlink()
    async with RunningApi(settings) as api:
        assert await views(api, "clock") == (True, True, True)
        assert await views(api, "ticker") == (False, False, False)
        _, health = await api.get("/api/v3/supervisor/health")
        assert [r["code"] for r in health["data"]["reasons"]] == ["state_file_lost"]


async def test_a_manifest_the_install_refuses_lands_nothing_and_start_agrees(
    tmp_path: Path,
) -> None:
    env = make_env(tmp_path)
    settings = env.settings()
    long_version = "1." + "0" * 5000
    archive = zip_bytes(plugin_files("longver", long_version))
    form = aiohttp.FormData()
    form.add_field("archive", archive, filename="longver.zip", content_type="application/zip")
    async with RunningApi(settings) as api:
        assert api.client is not None
        response = await api.client.post("/api/v3/plugins/install-archive?wait=true", data=form)
        body = await response.json()
        assert (response.status, body["error_code"]) == (500, "PLUGIN_INSTALL_FAILED"), body
        assert "'version' must be at most 64 printable characters" in body["message"]
        status, _ = await api.get(f"{STATE}?plugin_id=longver")
        assert status == 404
    plugins = settings.data_dir / "plugins"
    assert [p.name for p in plugins.iterdir() if not p.name.startswith(".")] == []
    config = orjson.loads((settings.data_dir / "config" / "config.json").read_bytes())
    assert "longver" not in config
    # the same manifest put there by hand is refused at start in the same words
    folder = plugins / "longver"
    folder.mkdir()
    for name, content in plugin_files("longver", long_version).items():
        (folder / name).write_text(content if isinstance(content, str) else content.decode())
    async with RunningApi(settings) as api:
        _, state = await api.get(f"{STATE}?plugin_id=longver")
        assert state["data"]["status"] == "error"
        assert state["data"]["metadata"]["manifest_error"] == {
            "message": "manifest.json: 'version' must be at most 64 printable characters"
        }
