"""The registry over HTTP: installs see it as it is now, cheaply; no copy is a 503; store flags."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from actors.installer import PipOptions
from actors.system import Settings
from tests.actors.installer.installer_helpers import (
    FIXTURES,
    GitRepo,
    HttpServer,
    build_wheel,
    fixture_files,
    plugin_files,
    registry_entry,
    zip_bytes,
)
from tests.supervisor_process import free_port
from tests.web.payloads import A_TIME, stamped
from tests.web.plugin_env import PluginEnv, RunningApi, make_env

pytestmark = pytest.mark.timeout(90)

PATH = "/plugins.json"
NO_PIP = PipOptions(no_index=True, timeout_s=60.0)


@pytest.fixture
async def http_server() -> AsyncIterator[HttpServer]:
    server = HttpServer()
    await server.start()
    yield server
    await server.stop()


async def install(api: RunningApi, plugin_id: str, **extra: Any) -> tuple[int, dict]:
    return await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": plugin_id, **extra})


async def test_plugins_published_after_start_install_at_once(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    async with RunningApi(env.settings()) as api:
        status, body = await install(api, "late")
        assert (status, body["error_code"]) == (404, "PLUGIN_NOT_FOUND")

        env.add_plugin("late")  # the registry file changes while the supervisor runs
        status, body = await install(api, "late")
        assert status == 200, body
        assert (body["data"]["status"], body["data"]["result"]["plugin_id"]) == (
            "completed",
            "late",
        )

        env.add_plugin("later")  # and again, a moment later
        status, body = await install(api, "later")
        assert status == 200, body
        assert body["data"]["status"] == "completed"


def archive_entry(server: HttpServer, plugin_id: str) -> dict[str, Any]:
    """An entry whose release is an archive on the test server (a remote registry may not
    name local repositories)."""
    server.routes[f"/{plugin_id}.zip"] = zip_bytes(plugin_files(plugin_id))
    release = {"version": "1.0.0", "download_url": server.url(f"/{plugin_id}.zip")}
    return registry_entry(plugin_id, "https://example.invalid/none", versions=[release])


def publish(server: HttpServer, entries: list[dict[str, Any]], etag: str) -> None:
    server.routes[PATH] = json.dumps({"plugins": entries}).encode()
    server.etags[PATH] = etag


def registry_requests(server: HttpServer) -> list[tuple[str | None, int]]:
    return [(etag, status) for path, etag, _, status in server.log if path == PATH]


async def test_installs_ask_an_http_registry_if_it_changed(
    tmp_path: Path, http_server: HttpServer
) -> None:
    entries = [archive_entry(http_server, "clock"), archive_entry(http_server, "ticker")]
    publish(http_server, entries, '"r1"')
    settings = Settings(data_dir=tmp_path / "data", registry_url=http_server.url(PATH), pip=NO_PIP)
    async with RunningApi(settings) as api:
        status, body = await api.get("/api/v3/plugins/store/list")
        assert status == 200 and body["data"]["registry"]["available"] is True
        assert registry_requests(http_server) == [(None, 200)]
        [cache] = (settings.data_dir / "cache").iterdir()
        cache_time = cache.stat().st_mtime_ns

        for plugin_id in ("clock", "ticker"):
            status, body = await install(api, plugin_id, version="1.0.0")
            assert status == 200, body
            assert body["data"]["status"] == "completed", body["data"]
        # Each install asked twice (the request, then the queued operation), both times
        # conditionally, and the 304s reused the copy: nothing downloaded or written again.
        assert registry_requests(http_server) == [(None, 200)] + [('"r1"', 304)] * 4
        assert cache.stat().st_mtime_ns == cache_time

        publish(http_server, [*entries, archive_entry(http_server, "late")], '"r2"')
        status, body = await install(api, "late", version="1.0.0")
        assert status == 200, body
        assert body["data"]["status"] == "completed", body["data"]
        assert registry_requests(http_server)[-2:] == [('"r1"', 200), ('"r2"', 304)]
        assert cache.stat().st_mtime_ns != cache_time


async def test_install_with_an_unreachable_registry_and_no_copy_is_503(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/plugins.json"  # nothing listens there
    settings = Settings(data_dir=tmp_path / "data", registry_url=url, pip=NO_PIP)
    async with RunningApi(settings) as api:
        status, body = await api.post("/api/v3/plugins/install", {"plugin_id": "clock"})
        _, operations = await api.get("/api/v3/plugins/operations")
        list_status, listing = await api.get("/api/v3/plugins/store/list")

    message = (
        "The plugin registry is unreachable and no copy is cached: "
        f"{url} could not be reached (ClientConnectorError)"
    )
    assert status == 503
    assert body == {
        "status": "error",
        "error_code": "REGISTRY_UNAVAILABLE",
        "error_category": "network",
        "message": message,
        "context": {"cause": "NETWORK_ERROR"},
        "suggested_fixes": [
            "Check the device's network connection",
            "Check the --registry-url setting",
            "Try again in a moment",
        ],
    }
    assert operations["data"] == []  # refused before anything was queued
    assert list_status == 200
    assert listing["message"] == (
        "The plugin registry cannot be read and no copy of it is cached: the store is empty"
    )
    assert listing["data"] == {
        "plugins": [],
        "registry": {"available": False, "fetched_at": None, "stale": True, "error": message},
    }


def weather_registry(tmp_path: Path, repo_url: str) -> Path:
    """The real registry document, its ``weather`` entry pointed at a local repository."""
    document = json.loads((FIXTURES / "registry-plugins.json").read_text())
    for entry in document["plugins"]:
        if entry["id"] == "weather":
            entry["repo"] = repo_url
    path = tmp_path / "plugins.json"
    path.write_text(json.dumps(document))
    return path


async def test_weather_lands_as_ledmatrix_weather_and_the_store_shows_it_installed(
    tmp_path: Path,
) -> None:
    repo = GitRepo(tmp_path / "repos" / "ledmatrix-weather", branch="master")
    repo.commit(fixture_files("weather"))
    wheels = tmp_path / "wheels"
    for dist, version, module in (
        ("requests", "2.31.0", "requests"),
        ("Pillow", "10.0.0", "PIL"),
        ("pytz", "2024.1", "pytz"),
    ):
        build_wheel(wheels, dist, version, module)  # stand-ins for what weather requires
    settings = Settings(
        data_dir=tmp_path / "data",
        registry_url=str(weather_registry(tmp_path, repo.url)),
        pip=PipOptions(no_index=True, find_links=(str(wheels),), timeout_s=60.0),
    )
    async with RunningApi(settings) as api:
        status, body = await install(api, "weather")
        assert status == 200, body
        assert body["data"]["status"] == "completed", body["data"]
        assert body["data"]["result"]["plugin_id"] == "ledmatrix-weather"

        status, listing = await api.get("/api/v3/plugins/store/list")
        assert status == 200 and "message" not in listing
        installed = {
            p["id"]: p["installed_version"] for p in listing["data"]["plugins"] if p["installed"]
        }
        assert installed == {"weather": "2.0.9"}
        status, listing = await api.get("/api/v3/plugins/store/list?query=forecast")
        document = json.loads(Path(settings.registry_url).read_text())
        [entry] = [e for e in document["plugins"] if e["id"] == "weather"]
        registry = stamped(listing["data"]["registry"], "fetched_at")
        assert {**listing, "data": {**listing["data"], "registry": registry}} == {
            "status": "success",
            "data": {
                "plugins": [{**entry, "installed": True, "installed_version": "2.0.9"}],
                "registry": {
                    "available": True,
                    "fetched_at": A_TIME,
                    "stale": False,
                    "error": None,
                },
            },
        }


async def test_an_installed_plugin_named_after_an_entrys_plugin_path_is_its_copy(
    tmp_path: Path,
) -> None:
    env: PluginEnv = make_env(tmp_path)
    repo = GitRepo(tmp_path / "repos" / "mono")
    repo.commit(plugin_files("scores", "2.0.0"), under="plugins/scores")
    env.add_entry(registry_entry("nhl-scores", repo.url, plugin_path="plugins/scores"))
    async with RunningApi(env.settings()) as api:
        status, body = await api.post(
            "/api/v3/plugins/install-from-url?wait=true",
            {"repo_url": repo.url, "plugin_path": "plugins/scores"},
        )
        assert status == 200, body
        status, listing = await api.get("/api/v3/plugins/store/list")
    flags = {p["id"]: (p["installed"], p["installed_version"]) for p in listing["data"]["plugins"]}
    assert flags == {
        "clock": (False, None),
        "ticker": (False, None),
        "nhl-scores": (True, "2.0.0"),
    }
