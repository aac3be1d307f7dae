"""Revalidation: a lookup sees the registry as it is now, asking only whether it changed."""

from __future__ import annotations

import json
import os
import time

import orjson
import pytest
from installer_helpers import registry_entry, write_registry

from actors.errors import ErrorCode, PlugvisorError
from actors.installer import Registry

pytestmark = pytest.mark.timeout(30)

PATH = "/plugins.json"
CLOCK = registry_entry("clock", "https://example.invalid/clock")
LATE = registry_entry("late", "https://example.invalid/late")
VALIDATORS = {
    "etag": ('"v1"', '"v2"'),
    "last_modified": ("Mon, 02 Nov 2026 10:00:00 GMT", "Mon, 02 Nov 2026 11:00:00 GMT"),
}


def document(*entries: dict) -> bytes:
    return json.dumps({"version": "1.0.0", "plugins": list(entries)}).encode()


def publish(server, body: bytes, kind: str, value: str) -> None:
    server.routes[PATH] = body
    getattr(server, "etags" if kind == "etag" else "last_modified")[PATH] = value


def conditions(kind: str, value: str) -> tuple[str | None, str | None]:
    """What a conditional request carries, as the server's log records it."""
    return (value, None) if kind == "etag" else (None, value)


def http_registry(server, data_paths, **kwargs) -> Registry:
    return Registry(server.url(PATH), data_paths.cache_dir, backoff_s=0.01, **kwargs)


@pytest.mark.parametrize("kind", sorted(VALIDATORS))
async def test_a_lookup_asks_if_changed_and_a_304_reuses_the_copy(http_server, data_paths, kind):
    v1, v2 = VALIDATORS[kind]
    publish(http_server, document(CLOCK), kind, v1)
    registry = http_registry(http_server, data_paths)
    first = await registry.load()
    cache_time = registry.cache_file.stat().st_mtime_ns

    assert (await registry.resolve("clock")).id == "clock"

    assert http_server.log == [(PATH, None, None, 200), (PATH, *conditions(kind, v1), 304)]
    assert registry.snapshot.plugins is first.plugins  # reused as it was, not parsed again
    assert registry.snapshot.stale is False
    assert registry.cache_file.stat().st_mtime_ns == cache_time  # a 304 writes nothing

    publish(http_server, document(CLOCK, LATE), kind, v2)  # published after the first read
    assert (await registry.resolve("late")).id == "late"
    assert http_server.log[-1] == (PATH, *conditions(kind, v1), 200)
    cached = orjson.loads(registry.cache_file.read_bytes())
    assert [p["id"] for p in cached["document"]["plugins"]] == ["clock", "late"]

    await registry.resolve("late")
    assert http_server.log[-1] == (PATH, *conditions(kind, v2), 304)
    assert len(http_server.log) == 4


async def test_without_validators_an_unchanged_body_is_not_parsed_or_saved_again(
    http_server, data_paths
):
    http_server.routes[PATH] = document(CLOCK)
    registry = http_registry(http_server, data_paths)
    first = await registry.load()
    cache_time = registry.cache_file.stat().st_mtime_ns

    await registry.resolve("clock")

    assert http_server.log == [(PATH, None, None, 200), (PATH, None, None, 200)]
    assert registry.snapshot.plugins is first.plugins
    assert registry.cache_file.stat().st_mtime_ns == cache_time


async def test_a_restart_revalidates_the_copy_on_disk(http_server, data_paths):
    publish(http_server, document(CLOCK), "etag", '"v1"')
    await http_registry(http_server, data_paths).load()

    restarted = http_registry(http_server, data_paths)
    snapshot = await restarted.load()

    assert http_server.log[-1] == (PATH, '"v1"', None, 304)  # not downloaded again
    assert (snapshot.stale, snapshot.find("clock").id) == (False, "clock")


async def test_an_unreachable_registry_answers_lookups_from_its_last_copy(http_server, data_paths):
    publish(http_server, document(CLOCK), "etag", '"v1"')
    registry = http_registry(http_server, data_paths, attempts=1)
    await registry.load()
    http_server.failures[PATH] = 100

    assert (await registry.resolve("clock")).id == "clock"
    assert registry.snapshot.stale is True
    assert registry.problem == f"{http_server.url(PATH)} answered HTTP 503"
    hits = http_server.hits[PATH]
    with pytest.raises(PlugvisorError) as caught:
        await registry.resolve("late")
    assert caught.value.code is ErrorCode.PLUGIN_NOT_FOUND
    assert caught.value.message == (
        "Plugin 'late' is not in the plugin registry "
        "(as of its last copy: the registry cannot be read right now)"
    )
    assert http_server.hits[PATH] == hits  # failed a moment ago: not asked again so soon


async def test_a_local_registry_edited_after_a_read_is_seen_at_once(tmp_path, data_paths):
    path = write_registry(tmp_path / "plugins.json", [CLOCK])
    registry = Registry(str(path), data_paths.cache_dir)
    first = await registry.load()
    assert (await registry.load(revalidate=True)).plugins is first.plugins  # unchanged

    write_registry(path, [CLOCK, LATE])
    assert (await registry.resolve("late")).id == "late"

    # The same size, at once: file times may not have moved, the content did.
    size = path.stat().st_size
    write_registry(path, [{**CLOCK, "latest_version": "1.0.1"}, LATE])
    assert path.stat().st_size == size
    assert (await registry.resolve("clock")).latest_version == "1.0.1"


async def test_an_old_unchanged_local_registry_keeps_its_copy(tmp_path, data_paths):
    path = write_registry(tmp_path / "plugins.json", [CLOCK])
    old = time.time() - 3600
    os.utime(path, (old, old))
    registry = Registry(str(path), data_paths.cache_dir)
    first = await registry.load()
    cache_time = registry.cache_file.stat().st_mtime_ns

    again = await registry.load(revalidate=True)

    assert again.plugins is first.plugins and again.stale is False
    assert registry.cache_file.stat().st_mtime_ns == cache_time


async def test_a_bad_id_is_refused_before_any_read(http_server, data_paths):
    registry = http_registry(http_server, data_paths)
    with pytest.raises(PlugvisorError) as caught:
        await registry.resolve("../etc")
    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert http_server.log == []
