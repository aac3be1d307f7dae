"""Install, update, uninstall and toggle over HTTP, with state, config and history agreeing."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.actors.installer.installer_helpers import plugin_files, zip_bytes
from tests.web.plugin_env import PluginEnv, RunningApi, make_env
from web.routes.plugins import MAX_CONCURRENT_UPLOADS, UPLOAD_SLOTS


@pytest.fixture
def env(tmp_path: Path) -> PluginEnv:
    return make_env(tmp_path)


@pytest.fixture
async def api(env: PluginEnv) -> AsyncIterator[RunningApi]:
    async with RunningApi(env.settings()) as running_api:
        yield running_api


async def history(api: RunningApi, query: str = "") -> list[dict]:
    status, body = await api.get(f"/api/v3/plugins/operation/history{query}")
    assert status == 200, body
    return body["data"]


async def test_install_queues_then_completes_with_state_config_and_history_agreeing(
    api: RunningApi,
) -> None:
    status, body = await api.post("/api/v3/plugins/install", {"plugin_id": "clock"})
    assert status == 202
    assert body["status"] == "success"
    assert body["message"] == "Plugin clock installation queued"
    receipt = body["data"]
    assert set(receipt) == {"operation_id", "status", "position", "deduplicated"}
    assert receipt["status"] == "pending" and receipt["deduplicated"] is False

    record = await api.wait_operation(receipt["operation_id"])
    assert record["status"] == "completed"
    assert record["stage"] == "done" and record["progress"] == 1.0
    assert record["result"]["plugin_id"] == "clock"
    assert record["result"]["version"] == "1.0.0"

    status, state = await api.get("/api/v3/plugins/state?plugin_id=clock")
    assert status == 200
    assert state["data"]["status"] == "enabled" and state["data"]["enabled"] is True
    assert state["data"]["version"] == "1.0.0"
    assert state["data"]["last_operation_id"] == receipt["operation_id"]

    status, config = await api.get("/api/v3/plugins/config?plugin_id=clock")
    assert status == 200 and config["data"]["enabled"] is True

    status, listing = await api.get("/api/v3/plugins/installed")
    assert status == 200
    [clock] = listing["data"]["plugins"]
    assert clock["id"] == "clock" and clock["enabled"] is True and clock["status"] == "enabled"
    assert clock["version"] == "1.0.0" and clock["update_available"] is False
    assert clock["source"]["type"] == "registry"

    records = await history(api, "?plugin_id=clock&operation_type=install")
    assert [(r["operation_id"], r["status"]) for r in records] == [
        (receipt["operation_id"], "completed")
    ]


async def test_install_wait_true_answers_the_final_record(api: RunningApi) -> None:
    status, body = await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": "ticker"})
    assert status == 200, body
    assert body["data"]["status"] == "completed"
    assert body["data"]["plugin_id"] == "ticker"


async def test_update_to_a_new_version(api: RunningApi, env: PluginEnv) -> None:
    await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": "clock"})
    env.repos["clock"].replace_all(plugin_files("clock", "1.1.0"), "clock 1.1.0")
    env.add_entry({**env.entries[0], "latest_version": "1.1.0"})
    status, body = await api.post("/api/v3/plugins/store/refresh")
    assert status == 200 and body["data"]["plugin_count"] == 2
    status, listing = await api.get("/api/v3/plugins/installed")
    assert listing["data"]["plugins"][0]["update_available"] is True

    status, body = await api.post("/api/v3/plugins/update?wait=true", {"plugin_id": "clock"})
    assert status == 200, body
    assert body["data"]["result"]["version"] == "1.1.0"
    assert body["data"]["result"]["previous_version"] == "1.0.0"
    status, state = await api.get("/api/v3/plugins/state?plugin_id=clock")
    assert state["data"]["version"] == "1.1.0"
    status, listing = await api.get("/api/v3/plugins/installed")
    assert listing["data"]["plugins"][0]["update_available"] is False


async def test_uninstall_drops_config_unless_preserved(api: RunningApi) -> None:
    for plugin in ("clock", "ticker"):
        await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": plugin})
    status, body = await api.post(
        "/api/v3/plugins/uninstall?wait=true", {"plugin_id": "clock", "preserve_config": True}
    )
    assert status == 200, body
    assert body["data"]["result"]["preserve_config"] is True
    status, body = await api.post("/api/v3/plugins/uninstall?wait=true", {"plugin_id": "ticker"})
    assert status == 200, body

    status, states = await api.get("/api/v3/plugins/state")
    assert states["data"] == {}
    status, listing = await api.get("/api/v3/plugins/installed")
    assert listing["data"]["plugins"] == []
    assert api.system is not None
    config = (api.system.paths.config_dir / "config.json").read_text()
    assert '"clock"' in config and '"ticker"' not in config
    records = await history(api, "?operation_type=uninstall")
    assert [r["plugin_id"] for r in records] == ["ticker", "clock"]
    status, body = await api.post("/api/v3/plugins/uninstall", {"plugin_id": "ticker"})
    assert status == 404 and body["error_code"] == "PLUGIN_NOT_FOUND"


async def test_double_clicked_install_is_deduplicated(api: RunningApi) -> None:
    first, second = await asyncio.gather(
        api.post("/api/v3/plugins/install", {"plugin_id": "clock"}),
        api.post("/api/v3/plugins/install", {"plugin_id": "clock"}),
    )
    ids = {first[1]["data"]["operation_id"], second[1]["data"]["operation_id"]}
    assert len(ids) == 1
    assert sorted([first[1]["data"]["deduplicated"], second[1]["data"]["deduplicated"]]) == [
        False,
        True,
    ]
    record = await api.wait_operation(ids.pop())
    assert record["status"] == "completed"


async def test_install_then_uninstall_run_in_order(api: RunningApi) -> None:
    _, install = await api.post("/api/v3/plugins/install", {"plugin_id": "clock"})
    # Not installed yet, but an install is queued: the uninstall waits behind it.
    status, uninstall = await api.post("/api/v3/plugins/uninstall", {"plugin_id": "clock"})
    assert status == 202, uninstall
    done = await api.wait_operation(uninstall["data"]["operation_id"])
    first = await api.wait_operation(install["data"]["operation_id"])
    assert first["status"] == "completed" and done["status"] == "completed"
    assert first["completed_at"] <= done["started_at"]
    _, listing = await api.get("/api/v3/plugins/installed")
    assert listing["data"]["plugins"] == []
    records = await history(api, "?plugin_id=clock")
    assert [r["operation_type"] for r in records] == ["uninstall", "install"]


async def test_toggle_is_durable_and_agrees_with_state(api: RunningApi) -> None:
    await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": "clock"})
    status, body = await api.post(
        "/api/v3/plugins/toggle", {"plugin_id": "clock", "enabled": False}
    )
    assert status == 200
    assert body == {
        "status": "success",
        "data": {"plugin_id": "clock", "enabled": False, "status": "disabled"},
        "message": "Plugin clock disabled",
    }
    _, config = await api.get("/api/v3/plugins/config?plugin_id=clock")
    assert config["data"]["enabled"] is False
    records = await history(api, "?plugin_id=clock&operation_type=disable")
    assert [r["status"] for r in records] == ["completed"]


@pytest.mark.parametrize("enabled", ["false", 0, None, "yes"])
async def test_toggle_accepts_json_booleans_only(api: RunningApi, enabled: object) -> None:
    await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": "clock"})
    status, body = await api.post(
        "/api/v3/plugins/toggle", {"plugin_id": "clock", "enabled": enabled}
    )
    assert status == 400
    assert body["error_code"] == "INVALID_INPUT" and body["context"]["field"] == "enabled"


async def test_toggle_unknown_plugin_is_404(api: RunningApi) -> None:
    status, body = await api.post("/api/v3/plugins/toggle", {"plugin_id": "ghost", "enabled": True})
    assert status == 404 and body["error_code"] == "PLUGIN_NOT_FOUND"


async def test_64_concurrent_toggles_all_durable_and_agreeing(api: RunningApi) -> None:
    for plugin in ("clock", "ticker"):
        await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": plugin})
    requests = [
        api.post(
            "/api/v3/plugins/toggle",
            {"plugin_id": ("clock", "ticker")[i % 2], "enabled": i % 3 == 0},
        )
        for i in range(64)
    ]
    answers = await asyncio.gather(*requests)
    assert [status for status, _ in answers] == [200] * 64
    for plugin in ("clock", "ticker"):
        _, config = await api.get(f"/api/v3/plugins/config?plugin_id={plugin}")
        _, state = await api.get(f"/api/v3/plugins/state?plugin_id={plugin}")
        assert config["data"]["enabled"] is state["data"]["enabled"]
    assert api.system is not None
    on_disk = (api.system.paths.state_dir / "plugin_state.json").read_text()
    assert '"clock"' in on_disk


@pytest.mark.parametrize("plugin_id", ["../config", "", "a/b", ".", "..", "display", "A", 5])
@pytest.mark.parametrize("path", ["install", "update", "uninstall", "toggle", "install-from-url"])
async def test_invalid_plugin_ids_are_refused_before_anything_happens(
    api: RunningApi, path: str, plugin_id: object
) -> None:
    body = {"plugin_id": plugin_id, "enabled": True, "repo_url": "https://example.invalid/x.git"}
    status, answer = await api.post(f"/api/v3/plugins/{path}", body)
    assert status == 400, answer
    assert answer["error_code"] == "INVALID_INPUT"
    _, operations = await api.get("/api/v3/plugins/operations")
    assert operations["data"] == []


async def test_unknown_registry_plugin_is_404_without_an_operation(api: RunningApi) -> None:
    status, body = await api.post("/api/v3/plugins/install", {"plugin_id": "nowhere"})
    assert status == 404 and body["error_code"] == "PLUGIN_NOT_FOUND"
    assert await history(api) == []


@pytest.mark.parametrize(
    "url",
    ["ftp://example.invalid/x.git", "--upload-pack=touch /tmp/x", "ext::sh -c touch", "", 5],
)
async def test_malformed_urls_are_400(api: RunningApi, url: object) -> None:
    status, body = await api.post("/api/v3/plugins/install-from-url", {"repo_url": url})
    assert status == 400 and body["error_code"] == "INVALID_INPUT"
    assert body["context"]["field"] == "repo_url"


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"text"', b""])
async def test_malformed_bodies_are_400(api: RunningApi, body: bytes) -> None:
    assert api.client is not None
    response = await api.client.post("/api/v3/plugins/install", data=body)
    assert response.status == 400
    assert (await response.json())["error_code"] == "INVALID_INPUT"


async def test_install_from_git_url_and_archive_upload(api: RunningApi, env: PluginEnv) -> None:
    url = env.repos["ticker"].url
    status, body = await api.post("/api/v3/plugins/install-from-url?wait=true", {"repo_url": url})
    assert status == 200, body
    assert body["data"]["result"]["plugin_id"] == "ticker"
    assert body["data"]["plugin_id"] == "ticker"

    assert api.client is not None
    archive = zip_bytes(plugin_files("uploaded", "2.0.0"), top="uploaded-main/")
    response = await api.client.post(
        "/api/v3/plugins/install-archive?wait=true",
        data=_multipart(archive),
    )
    body = await response.json()
    assert response.status == 200, body
    assert body["data"]["result"]["plugin_id"] == "uploaded"
    _, listing = await api.get("/api/v3/plugins/installed")
    assert sorted(p["id"] for p in listing["data"]["plugins"]) == ["ticker", "uploaded"]


def _multipart(archive: bytes) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("archive", archive, filename="uploaded.zip", content_type="application/zip")
    return form


async def test_archive_upload_without_the_field_is_400(api: RunningApi) -> None:
    assert api.client is not None
    form = aiohttp.FormData()
    form.add_field("other", b"x", filename="x.zip")
    response = await api.client.post("/api/v3/plugins/install-archive", data=form)
    assert response.status == 400
    assert (await response.json())["context"]["field"] == "archive"


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "100000", "1.5"])
async def test_history_limit_validation(api: RunningApi, limit: str) -> None:
    status, body = await api.get(f"/api/v3/plugins/operation/history?limit={limit}")
    assert status == 400
    assert body["error_code"] == "INVALID_INPUT" and body["context"]["field"] == "limit"


async def test_operation_endpoints_errors(api: RunningApi) -> None:
    status, body = await api.get("/api/v3/plugins/operation/doesnotexist")
    assert status == 404 and body["error_code"] == "OPERATION_NOT_FOUND"
    status, body = await api.post("/api/v3/plugins/operation/doesnotexist/cancel")
    assert status == 404 and body["error_code"] == "OPERATION_NOT_FOUND"
    _, done = await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": "clock"})
    operation_id = done["data"]["operation_id"]
    status, body = await api.post(f"/api/v3/plugins/operation/{operation_id}/cancel")
    assert status == 409 and body["error_code"] == "PLUGIN_OPERATION_CONFLICT"
    status, body = await api.get("/api/v3/plugins/operations?status=done")
    assert status == 400


async def test_json_body_over_1_mib_is_413(api: RunningApi) -> None:
    assert api.client is not None
    body = b'{"plugin_id": "' + b"a" * (1024 * 1024) + b'"}'
    response = await api.client.post(
        "/api/v3/plugins/install",
        data=io.BytesIO(body),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 413
    answer = await response.json()
    assert answer["error_code"] == "PAYLOAD_TOO_LARGE"
    assert answer["error_category"] == "system"


async def test_uploads_beyond_the_concurrent_limit_are_503(api: RunningApi) -> None:
    assert api.client is not None
    slots = api.client.app[UPLOAD_SLOTS]
    for _ in range(MAX_CONCURRENT_UPLOADS):
        await slots.acquire()  # uploads in progress
    try:
        archive = zip_bytes(plugin_files("uploaded", "2.0.0"))
        response = await api.client.post(
            "/api/v3/plugins/install-archive", data=_multipart(archive)
        )
        body = await response.json()
        assert response.status == 503, body
        assert body["error_code"] == "SERVICE_UNAVAILABLE"
        assert response.headers["Retry-After"] == "5"
    finally:
        for _ in range(MAX_CONCURRENT_UPLOADS):
            slots.release()
    _, operations = await api.get("/api/v3/plugins/operations")
    assert operations["data"] == []
