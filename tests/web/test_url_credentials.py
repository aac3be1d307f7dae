"""Credentials in install URLs (userinfo, query, fragment) never shown, journaled or logged;
two URLs that differ only in credentials are two operations."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from structlog.testing import capture_logs

from tests.actors.installer.installer_helpers import plugin_files, zip_bytes
from tests.web.plugin_env import PluginEnv, RunningApi, make_env

FROM_URL = "/api/v3/plugins/install-from-url"
TOKEN = "tok-SECRET-4f1d9c"  # what a bare query or a named parameter carries
OTHER = "tok-OTHER-77aa01"
PASSWORD = "pw-SECRET-b3e2"
SECRETS = (TOKEN, OTHER, PASSWORD)


class ArchiveServer:
    """A real server on 127.0.0.1: the plugin archive only for a request with a known token
    (the whole query, or ``access_token``) and, when the URL has userinfo, its basic auth.
    ``gate`` holds every answer until it is set. Everything else is 404 (git sees no repo)."""

    def __init__(self, archive: bytes) -> None:
        self.archive = archive
        self.gate = asyncio.Event()
        self.gate.set()
        self.served = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def _handle(self, request: web.Request) -> web.Response:
        await self.gate.wait()
        token = request.query.get("access_token") or request.query_string
        auth = request.headers.get("Authorization")
        basic = "Basic " + base64.b64encode(f"user:{PASSWORD}".encode()).decode()
        if not request.path.endswith(".zip") or token not in (TOKEN, OTHER):
            return web.Response(status=404)
        if auth is not None and auth != basic:
            return web.Response(status=403)
        self.served += 1
        return web.Response(body=self.archive, content_type="application/zip")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)  # its log would hold the query
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self.gate.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def env(tmp_path: Path) -> PluginEnv:
    return make_env(tmp_path)


@pytest.fixture
async def api(env: PluginEnv) -> AsyncIterator[RunningApi]:
    async with RunningApi(env.settings()) as running_api:
        yield running_api


@pytest.fixture
async def server() -> AsyncIterator[ArchiveServer]:
    running = ArchiveServer(zip_bytes(plugin_files("vaulted", "1.0.0"), top="vaulted-main/"))
    await running.start()
    yield running
    await running.stop()


def files_outside_plugins(api: RunningApi, *, written: bool) -> dict[str, bytes]:
    """Every file under the data dir but plugins/ (whose .plugvisor.json keeps the real URL
    for updates): journal, history, state, config, tmp."""
    assert api.system is not None
    paths = api.system.paths
    found = {}
    for path in paths.root.rglob("*"):
        if path.is_file() and paths.plugins_dir not in path.parents:
            found[str(path.relative_to(paths.root))] = path.read_bytes()
    assert any(name.startswith("journal") for name in found) is written
    assert any(name.startswith("history") for name in found) is written
    return found


async def assert_nowhere(
    api: RunningApi, operation_id: str, *texts: str, written: bool = True
) -> None:
    """Neither the operation, the history, the listings nor any data file holds a secret."""
    shown: list[Any] = [texts]
    shown.append(await api.get(f"/api/v3/plugins/operation/{operation_id}"))
    shown.append(await api.get("/api/v3/plugins/operation/history"))
    shown.append(await api.get("/api/v3/plugins/installed"))
    shown.append(await api.get("/api/v3/plugins/state"))
    for secret in SECRETS:
        assert secret not in repr(shown)
        for name, data in files_outside_plugins(api, written=written).items():
            assert secret.encode() not in data, name


async def post_install(api: RunningApi, body: dict[str, Any]) -> tuple[int, Any, str]:
    assert api.client is not None
    response = await api.client.post(f"{FROM_URL}?wait=true", json=body)
    text = await response.text()
    return response.status, await response.json(), text


async def test_an_archive_with_userinfo_and_a_bare_query_token_installs_and_hides_both(
    api: RunningApi, server: ArchiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"http://user:{PASSWORD}@127.0.0.1:{server.port}/dl/vaulted.zip?{TOKEN}"
    with capture_logs() as logs:
        status, body, text = await post_install(api, {"repo_url": url})
    assert status == 200, body
    assert server.served == 1  # the real URL, credentials and all, reached the server
    record = body["data"]
    shown = f"http://***@127.0.0.1:{server.port}/dl/vaulted.zip?***"
    fingerprint = record["parameters"]["repo_url_fingerprint"]
    assert record["parameters"] == {"repo_url": shown, "repo_url_fingerprint": fingerprint}
    assert len(fingerprint) == 32 and int(fingerprint, 16) >= 0
    assert record["result"]["source"]["url"] == shown
    assert logs and caplog.records is not None
    await assert_nowhere(api, record["operation_id"], text, repr(logs), caplog.text)


@pytest.mark.parametrize(
    "path",
    [
        f"/r.git?{TOKEN}",
        f"/r.git?access_token={TOKEN}",
        f"/r.git?token={TOKEN}&page=2",
        f"/r.git?private={TOKEN}",
    ],
)
async def test_a_git_url_with_a_query_token_fails_without_showing_it(
    api: RunningApi, server: ArchiveServer, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(logging.DEBUG)
    with capture_logs() as logs:
        status, body, text = await post_install(api, {"repo_url": server.base() + path})
    assert (status, body["error_code"]) == (500, "PLUGIN_INSTALL_FAILED"), body
    record = body["context"]["operation"]
    assert record["status"] == "failed"
    assert record["parameters"]["repo_url"].startswith(f"{server.base()}/r.git?")
    assert "***" in record["parameters"]["repo_url"]
    await assert_nowhere(api, record["operation_id"], text, repr(logs), caplog.text)


async def test_a_git_url_with_userinfo_fails_without_showing_it(
    api: RunningApi, server: ArchiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"http://user:{PASSWORD}@127.0.0.1:{server.port}/r.git"
    with capture_logs() as logs:
        status, body, text = await post_install(api, {"repo_url": url, "plugin_id": "vaulted"})
    assert status == 500 and body["context"]["operation"]["status"] == "failed", body
    record = body["context"]["operation"]
    assert record["parameters"]["repo_url"] == f"http://***@127.0.0.1:{server.port}/r.git"
    await assert_nowhere(api, record["operation_id"], text, repr(logs), caplog.text)


@pytest.mark.parametrize("path", [f"/r.git#{TOKEN}", f"/dl/vaulted.zip#{TOKEN}", "/r.git#"])
async def test_a_fragment_is_refused_without_showing_it(
    api: RunningApi, server: ArchiveServer, path: str
) -> None:
    status, body, text = await post_install(api, {"repo_url": server.base() + path})
    assert (status, body) == (
        400,
        {
            "status": "error",
            "error_code": "INVALID_INPUT",
            "error_category": "validation",
            "message": "'repo_url' must not have a fragment ('#…'): it is never sent to the"
            " server; name a branch in 'branch'",
            "context": {"field": "repo_url"},
        },
    )
    assert (await api.get("/api/v3/plugins/operation/history"))[1]["data"] == []
    await assert_nowhere(api, "0" * 32, text, written=False)


@pytest.mark.parametrize("plugin_id", [None, "vaulted"])
async def test_urls_that_differ_only_in_credentials_are_two_operations(
    api: RunningApi, server: ArchiveServer, plugin_id: str | None
) -> None:
    assert api.client is not None
    server.gate.clear()  # the first install stays in its download until the gate opens
    extra = {} if plugin_id is None else {"plugin_id": plugin_id}
    # a repeat is merged only with the newest operation of its lane: the second URL here
    urls = [f"{server.base()}/dl/vaulted.zip?access_token={t}" for t in (TOKEN, OTHER, OTHER)]
    receipts = []
    for url in urls:
        response = await api.client.post(FROM_URL, json={"repo_url": url, **extra})
        assert response.status == 202
        receipts.append((await response.json())["data"])
    first, second, again = receipts
    assert first["deduplicated"] is False and second["deduplicated"] is False
    assert second["operation_id"] != first["operation_id"]
    assert (again["operation_id"], again["deduplicated"]) == (second["operation_id"], True)
    _, active = await api.get("/api/v3/plugins/operations")
    assert [op["operation_id"] for op in active["data"]] == [
        first["operation_id"],
        second["operation_id"],
    ]
    params = [op["parameters"] for op in active["data"]]
    assert params[0]["repo_url"] == params[1]["repo_url"]
    assert params[0]["repo_url_fingerprint"] != params[1]["repo_url_fingerprint"]
    server.gate.set()
    records = [await api.wait_operation(r["operation_id"]) for r in (first, second)]
    assert records[0]["status"] == "completed"
    assert records[1]["status"] not in ("pending", "running")
    await assert_nowhere(api, first["operation_id"], repr(receipts), repr(records))
