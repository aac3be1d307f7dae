"""Install, update, uninstall and toggle over HTTP, with state, config and history agreeing."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.actors.installer.installer_helpers import plugin_files, zip_bytes
from tests.web.payloads import (
    A_TIME,
    BAD_ID_RULE,
    OPERATION_ID,
    error,
    finished,
    install_result,
    invalid,
    not_installed,
    operation_stamped,
    registry_source,
    stamped,
)
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
    api: RunningApi, env: PluginEnv
) -> None:
    status, body = await api.post("/api/v3/plugins/install", {"plugin_id": "clock"})
    assert status == 202
    operation_id = body["data"]["operation_id"]
    assert OPERATION_ID.fullmatch(operation_id)
    assert body == {
        "status": "success",
        "data": {
            "operation_id": operation_id,
            "status": "pending",
            "position": 0,
            "deduplicated": False,
        },
        "message": "Plugin clock installation queued",
    }

    record = await api.wait_operation(operation_id)
    result = install_result(env, "clock")
    assert operation_stamped(record) == finished(operation_id, "install", "clock", result)

    status, state = await api.get("/api/v3/plugins/state?plugin_id=clock")
    assert status == 200
    assert stamped(state["data"], "installed_at", "last_updated") == {
        "plugin_id": "clock",
        "status": "enabled",
        "enabled": True,
        "version": "1.0.0",
        "installed_at": A_TIME,
        "last_updated": A_TIME,
        "config_version": 2,  # the defaults were 1; the install gave the plugin its section
        "last_operation_id": operation_id,
        "health": "unknown",
        "metadata": {"source": registry_source(env, "clock"), "configured": True},
    }

    status, config = await api.get("/api/v3/plugins/config?plugin_id=clock")
    assert status == 200
    assert config == {
        "status": "success",
        "data": {"enabled": True, "display_duration": 15, "live_priority": False},
    }

    status, listing = await api.get("/api/v3/plugins/installed")
    assert status == 200
    [clock] = listing["data"]["plugins"]
    assert listing == {"status": "success", "data": {"plugins": [clock]}}
    assert stamped(clock, "installed_at", "last_updated") == {
        "id": "clock",
        "name": "Plugin clock",
        "version": "1.0.0",
        "author": "tests",
        "description": None,
        "category": None,
        "tags": [],
        "enabled": True,
        "status": "enabled",
        "health": "unknown",
        "update_available": False,
        "latest_version": "1.0.0",
        "installed_at": A_TIME,
        "last_updated": A_TIME,
        "source": registry_source(env, "clock"),
    }

    [entry] = await history(api, "?plugin_id=clock&operation_type=install")
    assert stamped(entry, "timestamp") == {
        "operation_id": operation_id,
        "operation_type": "install",
        "plugin_id": "clock",
        "timestamp": A_TIME,
        "status": "completed",
        "user": "local",
        "details": {"parameters": {}, "result": result, "message": result["message"]},
        "error": None,
    }
    assert entry["timestamp"] == record["completed_at"]


async def test_install_wait_true_answers_the_final_record(api: RunningApi, env: PluginEnv) -> None:
    status, body = await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": "ticker"})
    assert status == 200, body
    operation_id = body["data"]["operation_id"]
    result = install_result(env, "ticker")
    assert {**body, "data": operation_stamped(body["data"])} == {
        "status": "success",
        "data": finished(operation_id, "install", "ticker", result),
        "message": "Plugin ticker 1.0.0 installed",
    }


async def test_update_to_a_new_version(api: RunningApi, env: PluginEnv) -> None:
    await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": "clock"})
    env.repos["clock"].replace_all(plugin_files("clock", "1.1.0"), "clock 1.1.0")
    env.add_entry({**env.entries[0], "latest_version": "1.1.0"})
    status, body = await api.post("/api/v3/plugins/store/refresh")
    assert status == 200
    assert {**body, "data": stamped(body["data"], "fetched_at")} == {
        "status": "success",
        "data": {
            "plugin_count": 2,
            "available": True,
            "fetched_at": A_TIME,
            "stale": False,
            "error": None,
        },
        "message": "Plugin store refreshed (2 plugins)",
    }
    status, listing = await api.get("/api/v3/plugins/installed")
    assert listing["data"]["plugins"][0]["update_available"] is True

    status, body = await api.post("/api/v3/plugins/update?wait=true", {"plugin_id": "clock"})
    assert status == 200, body
    result = install_result(env, "clock", "1.1.0", previous_version="1.0.0")
    del result["enabled"]  # an update leaves the config as it is
    result["message"] = "Plugin clock updated to 1.1.0"
    assert operation_stamped(body["data"]) == finished(
        body["data"]["operation_id"], "update", "clock", result
    )
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
    kept = {
        "plugin_id": "clock",
        "preserve_config": True,
        "warnings": [],
        "message": "Plugin clock uninstalled (configuration kept)",
    }
    assert operation_stamped(body["data"]) == finished(
        body["data"]["operation_id"], "uninstall", "clock", kept, {"preserve_config": True}
    )
    status, body = await api.post("/api/v3/plugins/uninstall?wait=true", {"plugin_id": "ticker"})
    assert status == 200, body
    dropped = {
        "plugin_id": "ticker",
        "preserve_config": False,
        "warnings": [],
        "message": "Plugin ticker uninstalled",
    }
    assert operation_stamped(body["data"]) == finished(
        body["data"]["operation_id"], "uninstall", "ticker", dropped, {"preserve_config": False}
    )

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
    assert (status, body) == (404, not_installed("ticker"))


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
    [entry] = await history(api, "?plugin_id=clock&operation_type=disable")
    assert OPERATION_ID.fullmatch(entry["operation_id"])
    backup_id = entry["details"]["backup_id"]
    assert re.fullmatch(r"\d+-2", backup_id)  # the config of generation 2 was set aside
    assert stamped(entry, "timestamp") == {
        "operation_id": entry["operation_id"],
        "operation_type": "disable",
        "plugin_id": "clock",
        "timestamp": A_TIME,
        "status": "completed",
        "user": "local",
        "details": {"generation": 3, "backup_id": backup_id, "enabled": {"clock": False}},
        "error": None,
    }


@pytest.mark.parametrize("enabled", ["false", 0, None, "yes"])
async def test_toggle_accepts_json_booleans_only(api: RunningApi, enabled: object) -> None:
    await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": "clock"})
    status, body = await api.post(
        "/api/v3/plugins/toggle", {"plugin_id": "clock", "enabled": enabled}
    )
    assert (status, body) == (
        400,
        invalid("enabled", "Field 'enabled' must be a boolean (true or false)"),
    )


async def test_toggle_unknown_plugin_is_404(api: RunningApi) -> None:
    status, body = await api.post("/api/v3/plugins/toggle", {"plugin_id": "ghost", "enabled": True})
    assert (status, body) == (404, not_installed("ghost"))


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
    if isinstance(plugin_id, str):
        message = f"'plugin_id' is not a valid plugin id: {plugin_id!r} {BAD_ID_RULE}"
    else:
        message = "Field 'plugin_id' must be a string"
    assert answer == invalid("plugin_id", message)
    _, operations = await api.get("/api/v3/plugins/operations")
    assert operations["data"] == []


async def test_unknown_registry_plugin_is_404_without_an_operation(api: RunningApi) -> None:
    status, body = await api.post("/api/v3/plugins/install", {"plugin_id": "nowhere"})
    assert (status, body) == (
        404,
        error(
            "PLUGIN_NOT_FOUND",
            "plugin",
            "Plugin 'nowhere' is not in the plugin registry",
            {"plugin_id": "nowhere"},
            suggested_fixes=["Check the plugin id", "Refresh the plugin store"],
        ),
    )
    assert await history(api) == []


NO_SPACES = "'repo_url' must not contain spaces or control characters"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "ftp://example.invalid/x.git",
            "'repo_url' must be a URL with one of the schemes file, http, https, ssh",
        ),
        ("--upload-pack=touch /tmp/x", NO_SPACES),
        ("ext::sh -c touch", NO_SPACES),
        ("", "'repo_url' must not be empty"),
        (5, "Field 'repo_url' must be a string"),
    ],
)
async def test_malformed_urls_are_400(api: RunningApi, url: object, message: str) -> None:
    status, body = await api.post("/api/v3/plugins/install-from-url", {"repo_url": url})
    assert (status, body) == (400, invalid("repo_url", message))


NOT_JSON_TYPE = "Request body must be sent with Content-Type: application/json"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (b"not json", "body", "Request body is not valid JSON: "),  # then the parser's words
        (b"[1, 2]", "Content-Type", NOT_JSON_TYPE),
        (b'"text"', "Content-Type", NOT_JSON_TYPE),
        (b"", "body", "Request body must be a JSON object"),
    ],
)
async def test_malformed_bodies_are_400(
    api: RunningApi, body: bytes, field: str, message: str
) -> None:
    assert api.client is not None
    response = await api.client.post("/api/v3/plugins/install", data=body)
    assert response.status == 400
    answer = await response.json()
    if message.endswith(": "):
        assert answer["message"].startswith(message)
        message = answer["message"]
    assert answer == invalid(field, message)


async def test_install_from_git_url_and_archive_upload(api: RunningApi, env: PluginEnv) -> None:
    url = env.repos["ticker"].url
    status, body = await api.post("/api/v3/plugins/install-from-url?wait=true", {"repo_url": url})
    assert status == 200, body
    from_git = install_result(env, "ticker")
    from_git["source"] |= {"type": "git", "registry_id": None}
    assert operation_stamped(body["data"]) == finished(
        body["data"]["operation_id"], "install", "ticker", from_git, {"repo_url": url}
    )

    assert api.client is not None
    archive = zip_bytes(plugin_files("uploaded", "2.0.0"), top="uploaded-main/")
    response = await api.client.post(
        "/api/v3/plugins/install-archive?wait=true",
        data=_multipart(archive),
    )
    body = await response.json()
    assert response.status == 200, body
    digest = hashlib.sha256(archive).hexdigest()
    archive_source = {
        "type": "archive",
        "url": None,
        "branch": None,
        "commit": None,
        "plugin_path": None,
        "registry_id": None,
        "requested_branch": None,
        "archive_sha256": digest,
        "archive_name": "uploaded.zip",
    }
    from_archive = install_result(env, "uploaded", "2.0.0", archive_source)
    parameters = {"filename": "uploaded.zip", "archive_sha256": digest, "size": len(archive)}
    assert operation_stamped(body["data"]) == finished(
        body["data"]["operation_id"], "install", "uploaded", from_archive, parameters
    )
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
    assert await response.json() == invalid("archive", "Missing the multipart field 'archive'")


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "100000", "1.5"])
async def test_history_limit_validation(api: RunningApi, limit: str) -> None:
    status, body = await api.get(f"/api/v3/plugins/operation/history?limit={limit}")
    assert (status, body) == (
        400,
        invalid("limit", "Query parameter 'limit' must be an integer from 1 to 1000"),
    )


async def test_operation_endpoints_errors(api: RunningApi) -> None:
    unknown = error(
        "OPERATION_NOT_FOUND",
        "plugin",
        "Operation 'doesnotexist' not found",
        {"operation_id": "doesnotexist"},
    )
    assert await api.get("/api/v3/plugins/operation/doesnotexist") == (404, unknown)
    assert await api.post("/api/v3/plugins/operation/doesnotexist/cancel") == (404, unknown)
    _, done = await api.post("/api/v3/plugins/install?wait=true", {"plugin_id": "clock"})
    operation_id = done["data"]["operation_id"]
    status, body = await api.post(f"/api/v3/plugins/operation/{operation_id}/cancel")
    assert (status, body) == (
        409,
        error(
            "PLUGIN_OPERATION_CONFLICT",
            "plugin",
            f"Operation {operation_id} has already finished (completed)",
            {"operation_id": operation_id, "status": "completed"},
            suggested_fixes=["Wait for the running operation to finish or cancel it"],
        ),
    )
    status, body = await api.get("/api/v3/plugins/operations?status=done")
    assert (status, body) == (
        400,
        invalid(
            "status",
            "Query parameter 'status' must be 'active' (finished operations are in the history)",
        ),
    )


async def test_json_body_over_1_mib_is_413(api: RunningApi) -> None:
    assert api.client is not None
    body = b'{"plugin_id": "' + b"a" * (1024 * 1024) + b'"}'
    response = await api.client.post(
        "/api/v3/plugins/install",
        data=io.BytesIO(body),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 413
    assert await response.json() == error(
        "PAYLOAD_TOO_LARGE",
        "system",
        "Request body is larger than the limit of 1024 KiB",
        {"limit_bytes": 1048576},
    )


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
        assert body == error(
            "SERVICE_UNAVAILABLE",
            "system",
            "Other archives are being uploaded right now",
            suggested_fixes=["Upload it again in a moment"],
        )
        assert response.headers["Retry-After"] == "5"
    finally:
        for _ in range(MAX_CONCURRENT_UPLOADS):
            slots.release()
    _, operations = await api.get("/api/v3/plugins/operations")
    assert operations["data"] == []
