"""Read endpoints answer bytes their owning actor serialised once, with an ETag and 304."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from actors.catalog.messages import ListInstalled
from actors.state.messages import GetAllStates, RescanPlugins
from tests.web.plugin_env import PluginEnv, RunningApi, make_env

READS = ("/api/v3/plugins/state", "/api/v3/plugins/installed")


@pytest.fixture
def env(tmp_path: Path) -> PluginEnv:
    return make_env(tmp_path)


@pytest.fixture
async def api(env: PluginEnv) -> AsyncIterator[RunningApi]:
    async with RunningApi(env.settings()) as running_api:
        for plugin in ("clock", "ticker"):
            status, body = await running_api.post(
                "/api/v3/plugins/install?wait=true", {"plugin_id": plugin}
            )
            assert status == 200, body
        yield running_api


async def raw_get(api: RunningApi, path: str, **headers: str) -> tuple[int, Any, bytes]:
    assert api.client is not None
    response = await api.client.get(path, headers=headers)
    return response.status, response.headers, await response.read()


async def test_read_answers_are_the_actors_data_in_the_envelope(api: RunningApi) -> None:
    assert api.system is not None
    _, headers, body = await raw_get(api, "/api/v3/plugins/state")
    states = await api.system.state.ask(GetAllStates(), timeout=5)
    assert body == orjson.dumps({"status": "success", "data": states})
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    _, headers, body = await raw_get(api, "/api/v3/plugins/installed")
    plugins = await api.system.catalog.ask(ListInstalled(), timeout=5)
    assert [p["id"] for p in plugins] == ["clock", "ticker"]
    assert body == orjson.dumps({"status": "success", "data": {"plugins": plugins}})


@pytest.mark.parametrize("path", READS)
async def test_if_none_match_gets_304_until_a_toggle_changes_the_answer(
    api: RunningApi, path: str
) -> None:
    status, headers, first = await raw_get(api, path)
    etag = headers["ETag"]
    assert status == 200 and etag.startswith('"') and etag.endswith('"')
    status, headers, body = await raw_get(api, path, **{"If-None-Match": etag})
    assert (status, body, headers["ETag"]) == (304, b"", etag)
    for header in (f'"nope", W/{etag}', "*"):
        status, _, _ = await raw_get(api, path, **{"If-None-Match": header})
        assert status == 304, header
    status, _, again = await raw_get(api, path, **{"If-None-Match": '"other"'})
    assert (status, again) == (200, first)

    status, body = await api.post(
        "/api/v3/plugins/toggle", {"plugin_id": "clock", "enabled": False}
    )
    assert status == 200, body
    status, headers, changed = await raw_get(api, path, **{"If-None-Match": etag})
    assert status == 200 and headers["ETag"] != etag
    clock = orjson.loads(changed)["data"]
    clock = clock["clock"] if "clock" in clock else clock["plugins"][0]
    assert clock["enabled"] is False


async def test_installed_listing_reads_plugin_files_when_they_change_not_per_request(
    api: RunningApi, env: PluginEnv
) -> None:
    assert api.system is not None
    _, _, before = await raw_get(api, "/api/v3/plugins/installed")
    manifest = env.root / "data" / "plugins" / "clock" / "manifest.json"
    data = orjson.loads(manifest.read_bytes())
    manifest.write_bytes(orjson.dumps({**data, "description": "edited on disk"}))
    _, _, unchanged = await raw_get(api, "/api/v3/plugins/installed")
    assert unchanged == before  # no manifest is read to answer a request

    await api.system.state.ask(RescanPlugins(("clock",)), timeout=5)
    _, _, after = await raw_get(api, "/api/v3/plugins/installed")
    assert orjson.loads(after)["data"]["plugins"][0]["description"] == "edited on disk"


def processed(api: RunningApi, name: str) -> int:
    assert api.system is not None
    return next(s.processed for s in api.system.tree.stats() if s.name.endswith(name))


async def test_repeated_listings_ask_the_state_nothing_until_it_changes(api: RunningApi) -> None:
    _, _, first = await raw_get(api, "/api/v3/plugins/installed")
    before = processed(api, "state")
    for _ in range(5):
        status, _, body = await raw_get(api, "/api/v3/plugins/installed")
        assert (status, body) == (200, first)
    assert processed(api, "state") == before  # told of changes; no ask per request

    status, body = await api.post(
        "/api/v3/plugins/toggle", {"plugin_id": "ticker", "enabled": False}
    )
    assert status == 200, body
    _, _, after = await raw_get(api, "/api/v3/plugins/installed")
    assert orjson.loads(after)["data"]["plugins"][1]["enabled"] is False
