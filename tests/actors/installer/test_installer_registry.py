"""The registry: HTTP and local sources, retries, the disk cache, stale copies, and lookups."""

from __future__ import annotations

import json

import orjson
import pytest
from installer_helpers import FIXTURES, registry_entry

from actors.damage import Damage
from actors.errors import ErrorCode, PlugvisorError
from actors.installer import Registry

pytestmark = pytest.mark.timeout(30)


def document(*entries: dict) -> bytes:
    return json.dumps({"version": "1.0.0", "plugins": list(entries)}).encode()


ENTRIES = (
    registry_entry("weather", "https://example.invalid/weather", plugin_path=""),
    registry_entry("mono-scores", "https://example.invalid/mono", plugin_path="plugins/scores/"),
    registry_entry("clock", "https://example.invalid/clock"),
)


def http_registry(server, cache_dir, **kwargs) -> Registry:
    kwargs.setdefault("backoff_s", 0.01)
    return Registry(server.url("/plugins.json"), cache_dir, **kwargs)


async def test_http_registry_is_fetched_cached_and_looked_up(http_server, data_paths):
    http_server.routes["/plugins.json"] = document(*ENTRIES)
    registry = http_registry(http_server, data_paths.cache_dir)

    snapshot = await registry.load()

    assert [e.id for e in snapshot.plugins] == ["weather", "mono-scores", "clock"]
    assert (snapshot.stale, snapshot.error) == (False, None)
    assert snapshot.find("clock").id == "clock"
    assert snapshot.find("scores").id == "mono-scores"  # last segment of plugin_path
    assert snapshot.find("mono-scores").plugin_path == "plugins/scores"
    assert snapshot.find("plugins") is None
    assert snapshot.find("") is None  # an empty plugin_path is never a wildcard
    assert snapshot.find("anything-else") is None
    cached = orjson.loads(registry.cache_file.read_bytes())
    assert registry.cache_file.parent == data_paths.cache_dir
    assert [p["id"] for p in cached["document"]["plugins"]] == ["weather", "mono-scores", "clock"]

    await registry.load()  # within the TTL: served from memory
    assert http_server.hits["/plugins.json"] == 1
    await registry.load(force=True)
    assert http_server.hits["/plugins.json"] == 2


async def test_transient_failures_are_retried(http_server, data_paths):
    http_server.routes["/plugins.json"] = document(*ENTRIES)
    http_server.failures["/plugins.json"] = 2
    snapshot = await http_registry(http_server, data_paths.cache_dir).load()
    assert len(snapshot.plugins) == 3
    assert http_server.hits["/plugins.json"] == 3


async def test_unreachable_registry_serves_the_stale_copy(http_server, data_paths):
    http_server.routes["/plugins.json"] = document(*ENTRIES)
    registry = http_registry(http_server, data_paths.cache_dir, attempts=2)
    fresh = await registry.load()

    http_server.failures["/plugins.json"] = 100
    stale = await registry.load(force=True)

    assert stale.stale is True
    assert stale.error == f"{http_server.url('/plugins.json')} answered HTTP 503"
    assert stale.plugins == fresh.plugins
    hits = http_server.hits["/plugins.json"]
    again = await registry.load()  # no new attempt until retry_after_failure_s has passed
    assert again.stale and http_server.hits["/plugins.json"] == hits


async def test_disk_cache_survives_a_restart(http_server, data_paths):
    http_server.routes["/plugins.json"] = document(*ENTRIES)
    await http_registry(http_server, data_paths.cache_dir).load()

    del http_server.routes["/plugins.json"]
    restarted = http_registry(http_server, data_paths.cache_dir)
    snapshot = await restarted.load()

    assert snapshot.stale is True
    assert "HTTP 404" in snapshot.error
    assert snapshot.find("clock") is not None


async def test_unreachable_registry_without_a_cache_raises(http_server, data_paths):
    registry = http_registry(http_server, data_paths.cache_dir)
    with pytest.raises(PlugvisorError) as caught:
        await registry.load()
    assert caught.value.code is ErrorCode.REGISTRY_UNAVAILABLE
    assert caught.value.message == (
        "The plugin registry is unreachable and no copy is cached: "
        f"{http_server.url('/plugins.json')} answered HTTP 404"
    )
    assert caught.value.context == {"cause": "NETWORK_ERROR"}
    assert caught.value.suggested_fixes == [
        "Check the device's network connection",
        "Check the --registry-url setting",
        "Try again in a moment",
    ]
    assert registry.problem == caught.value.message

    hits = http_server.hits["/plugins.json"]
    for call in (registry.load(), registry.load(revalidate=True), registry.resolve("clock")):
        with pytest.raises(PlugvisorError) as again:  # failed a moment ago: not asked again
            await call
        assert again.value.code is ErrorCode.REGISTRY_UNAVAILABLE
    assert http_server.hits["/plugins.json"] == hits


async def test_a_silent_registry_times_out(silent_server, data_paths):
    url = f"http://127.0.0.1:{silent_server.port}/plugins.json"
    registry = Registry(url, data_paths.cache_dir, timeout_s=0.3, attempts=2, backoff_s=0.01)
    with pytest.raises(PlugvisorError) as caught:
        await registry.load()
    assert caught.value.code is ErrorCode.REGISTRY_UNAVAILABLE
    assert caught.value.context == {"cause": "TIMEOUT"}


async def test_invalid_json_is_an_error_not_a_crash(http_server, data_paths):
    http_server.routes["/plugins.json"] = b"{not json"
    with pytest.raises(PlugvisorError) as caught:
        await http_registry(http_server, data_paths.cache_dir).load()
    assert "not valid JSON" in caught.value.message


async def test_credentials_in_the_registry_url_stay_out_of_errors(http_server, data_paths):
    url = http_server.url("/private.json").replace("http://", "http://reader:t0ken@")
    with pytest.raises(PlugvisorError) as caught:
        await Registry(url, data_paths.cache_dir, backoff_s=0.01).load()
    assert "t0ken" not in caught.value.message


async def test_local_file_registry_the_real_fixture(data_paths):
    path = FIXTURES / "registry-plugins.json"
    for source in (str(path), path.as_uri()):
        snapshot = await Registry(source, data_paths.cache_dir).load()
        weather = snapshot.find("weather")
        assert weather is not None
        assert (weather.branch, weather.latest_version) == ("master", "2.0.8")
        assert weather.plugin_path is None
        assert weather.version_entry("2.0.0") == {
            "version": "2.0.0",
            "ledmatrix_min": "2.0.0",
            "released": "2025-10-17",
        }
        assert snapshot.find("ledmatrix-weather") is None


async def test_only_the_registry_sweeps_crash_debris_from_its_cache(
    tmp_path, http_server, data_paths, make_installer
):
    debris = data_paths.cache_dir / ".registry-0123456789abcdef.json.tmp.1.1"
    debris.write_bytes(b"torn by a power cut")
    await make_installer(tmp_path / "unused.json").recover()
    assert debris.exists()  # cache/ is the catalog's: the installer leaves it alone

    http_server.routes["/plugins.json"] = document(*ENTRIES)
    await http_registry(http_server, data_paths.cache_dir).load()
    assert not debris.exists()
    assert [p.name for p in data_paths.cache_dir.iterdir()] == [
        http_registry(http_server, data_paths.cache_dir).cache_file.name
    ]


@pytest.mark.parametrize("damage_kind", ["folder", "garbage"])
async def test_a_damaged_cache_is_set_aside_when_it_is_needed(http_server, data_paths, damage_kind):
    damage = Damage(data_paths.root)
    registry = http_registry(http_server, data_paths.cache_dir, damage=damage)
    if damage_kind == "folder":
        registry.cache_file.mkdir()
    else:
        registry.cache_file.write_bytes(b"\x00\xff not a registry copy")
    with pytest.raises(PlugvisorError):  # unreachable, and no usable copy
        await registry.load()
    [aside] = data_paths.cache_dir.glob(f"{registry.cache_file.name}.damaged-*")
    assert aside.is_dir() == (damage_kind == "folder")
    [reason] = damage.reasons()
    assert reason.message.startswith(f"cache/{registry.cache_file.name} was damaged")
    http_server.routes["/plugins.json"] = document(*ENTRIES)
    await registry.load(force=True)  # reachable again: the cache is written afresh
    assert orjson.loads(registry.cache_file.read_bytes())["document"]["plugins"]


async def test_a_folder_in_the_cache_s_place_does_not_stop_it_being_written(
    http_server, data_paths
):
    damage = Damage(data_paths.root)
    http_server.routes["/plugins.json"] = document(*ENTRIES)
    registry = http_registry(http_server, data_paths.cache_dir, damage=damage)
    registry.cache_file.mkdir()
    await registry.load()
    assert registry.cache_file.is_file()
    [reason] = damage.reasons()
    assert "is a folder where a file should be" in (reason.detail or "")
