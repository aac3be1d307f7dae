"""The actor: group commit, arrival order, failed batches, ETags, dry runs, events, hooks."""

from __future__ import annotations

import asyncio
import errno
import os

import pytest

from actors.config_store import (
    DropPluginConfig,
    EnsurePluginEntry,
    GetMainConfig,
    GetPluginConfig,
    RestoreBackup,
    SavePluginConfig,
    SaveSchedule,
    SetPluginEnabled,
)
from actors.config_store.messages import GetPluginFlags, PluginFlags
from actors.errors import ErrorCode, PlugvisorError
from actors.fsio import Syncer
from actors.health_reasons import GetHealthReasons
from actors.paths import DataPaths

from .helpers import Harness, read_json, running_store


class SwitchableDisk(Syncer):
    """Reports ENOSPC on fsync while ``full`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.full = False

    def fsync(self, fd: int) -> None:
        if self.full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        super().fsync(fd)


def config_files(paths: DataPaths) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in paths.config_dir.rglob("*") if p.is_file()}


async def test_hundred_concurrent_saves_share_a_few_fsyncs_and_all_land(store: Harness) -> None:
    before = store.syncer.count
    results = await asyncio.gather(
        *(store.ask(SavePluginConfig("bare", {f"key{i}": i})) for i in range(100))
    )
    used = store.syncer.count - before
    assert used <= 8, f"{used} fsyncs for 100 saves"
    # one generation per save, in arrival order; the disk holds the last
    generations = [r.generation for r in results]
    assert generations == sorted(set(generations)) and len(generations) == 100
    on_disk = read_json(store.paths.config_dir / "config.json")
    assert on_disk["_plugvisor"]["generation"] == generations[-1]
    assert on_disk["bare"] == {f"key{i}": i for i in range(100)}
    assert len(store.config_events()) == 100


async def test_saves_apply_in_arrival_order_and_a_bad_one_fails_alone(store: Harness) -> None:
    saves = [
        store.ask(SavePluginConfig("clock-simple", {"position_x": 1})),
        store.ask(SavePluginConfig("clock-simple", {"position_x": "left"})),  # invalid
        store.ask(SavePluginConfig("clock-simple", {"position_x": 3})),
    ]
    first, second, third = await asyncio.gather(*saves, return_exceptions=True)
    assert isinstance(second, PlugvisorError)
    assert second.code is ErrorCode.CONFIG_VALIDATION_FAILED
    assert first.data["position_x"] == 1 and third.data["position_x"] == 3
    view = await store.ask(GetPluginConfig("clock-simple"))
    assert view.data["position_x"] == 3
    assert [(e["status"], e["error"]) for e in store.config_events()] == [
        ("completed", None),
        (
            "failed",
            {
                "error_code": "CONFIG_VALIDATION_FAILED",
                "message": "Configuration validation failed",
            },
        ),
        ("completed", None),
    ]


async def test_failed_batch_fails_every_caller_and_keeps_the_previous_config(
    paths: DataPaths,
) -> None:
    disk = SwitchableDisk()
    async with running_store(paths, disk) as store:
        await store.ask(SavePluginConfig("weather", {"api_key": "old-key", "units": "metric"}))
        before_view = await store.ask(GetPluginConfig("weather"))
        before_files = config_files(paths)
        disk.full = True
        outcomes = await asyncio.gather(
            *(
                store.ask(SavePluginConfig("weather", {"api_key": f"k{i}", "units": "imperial"}))
                for i in range(5)
            ),
            return_exceptions=True,
        )
        assert all(isinstance(o, PlugvisorError) for o in outcomes)
        assert {o.code for o in outcomes} == {ErrorCode.INSUFFICIENT_STORAGE}
        assert outcomes[0].message == "Not enough free space to save the configuration"
        assert await store.ask(GetPluginConfig("weather")) == before_view
        assert config_files(paths) == before_files
        failed = store.config_events()[-5:]
        assert {e["error"]["error_code"] for e in failed} == {"INSUFFICIENT_STORAGE"}
        disk.full = False
        result = await store.ask(SavePluginConfig("weather", {"units": "imperial"}))
        assert result.data["units"] == "imperial"
        assert read_json(paths.config_dir / "config_secrets.json")["weather"] == {
            "api_key": "old-key"
        }


async def test_reads_and_results_are_copies(store: Harness) -> None:
    posted = {"nested": {"a": 1}, "items": [1, 2]}
    result = await store.ask(SavePluginConfig("bare", posted))
    posted["nested"]["a"] = 99
    posted["items"].append(3)
    result.data["nested"]["a"] = 98
    view = await store.ask(GetPluginConfig("bare"))
    view.data["nested"]["a"] = 97
    main = await store.ask(GetMainConfig())
    main.data["display"]["hardware"]["rows"] = 1
    again = await store.ask(GetPluginConfig("bare"))
    assert (again.data["nested"], again.data["items"]) == ({"a": 1}, [1, 2])
    assert (await store.ask(GetMainConfig())).data["display"]["hardware"]["rows"] == 32


async def test_if_match_guards_against_lost_updates(store: Harness) -> None:
    etag = (await store.ask(GetPluginConfig("clock-simple"))).etag
    assert etag.startswith('"') and etag.endswith('"')
    result = await store.ask(SavePluginConfig("clock-simple", {"show_date": False}, if_match=etag))
    assert result.etag == (await store.ask(GetPluginConfig("clock-simple"))).etag != etag
    with pytest.raises(PlugvisorError) as caught:
        await store.ask(SavePluginConfig("clock-simple", {"show_date": True}, if_match=etag))
    assert (caught.value.code, caught.value.context) == (
        ErrorCode.CONFIG_CONFLICT,
        {"etag": result.etag},
    )
    await store.ask(SavePluginConfig("clock-simple", {"show_date": True}, if_match="*"))
    weak = f"W/{(await store.ask(GetPluginConfig('clock-simple'))).etag}"
    await store.ask(SavePluginConfig("clock-simple", {"show_date": False}, if_match=weak))
    # another plugin's change does not disturb this plugin's ETag
    etag = (await store.ask(GetPluginConfig("clock-simple"))).etag
    await store.ask(SavePluginConfig("hello-world", {"message": "hi"}))
    assert (await store.ask(GetPluginConfig("clock-simple"))).etag == etag


async def test_secret_change_changes_the_etag(store: Harness) -> None:
    await store.ask(SavePluginConfig("weather", {"api_key": "a"}))
    etag = (await store.ask(GetPluginConfig("weather"))).etag
    await store.ask(SavePluginConfig("weather", {"api_key": "b"}))
    assert (await store.ask(GetPluginConfig("weather"))).etag != etag


async def test_dry_run_validates_without_writing(store: Harness) -> None:
    before, count = config_files(store.paths), store.syncer.count
    result = await store.ask(SavePluginConfig("clock-simple", {"show_date": False}, dry_run=True))
    assert (result.dry_run, result.changed, result.backup_id, result.etag) == (
        True,
        False,
        None,
        None,
    )
    assert result.data["show_date"] is False
    with pytest.raises(PlugvisorError):
        await store.ask(SaveSchedule({"start_time": "7am"}, dry_run=True))
    assert (config_files(store.paths), store.syncer.count) == (before, count)
    assert (await store.ask(GetPluginConfig("clock-simple"))).data["show_date"] is True
    assert store.config_events() == []


async def test_save_event_payload(store: Harness) -> None:
    result = await store.ask(SavePluginConfig("clock-simple", {"show_date": False}, user="alice"))
    assert store.config_events() == [
        {
            "kind": "configure",
            "plugin_id": "clock-simple",
            "generation": result.generation,
            "backup_id": result.backup_id,
            "status": "completed",
            "error": None,
            "user": "alice",
            # the save created the section; its `enabled` is clock-simple's schema default
            "enabled": {"clock-simple": False},
        }
    ]


async def test_events_carry_every_enabled_flag_a_save_changes(store: Harness) -> None:
    await store.ask(SetPluginEnabled("clock-simple", True))
    first = await store.ask(SavePluginConfig("clock-simple", {"show_date": False}))
    await store.ask(SavePluginConfig("clock-simple", {"enabled": False}))
    await store.ask(RestoreBackup(first.backup_id))
    await store.ask(DropPluginConfig("clock-simple"))
    events = store.config_events()
    assert [(e["kind"], e.get("enabled")) for e in events] == [
        ("enable", {"clock-simple": True}),
        ("configure", None),  # show_date only: the flag did not change
        ("configure", {"clock-simple": False}),
        ("config_restore", {"clock-simple": True}),  # back to before the show_date save
        ("config_drop", {"clock-simple": None}),
    ]


async def test_plugin_flags_apply_schema_defaults(store: Harness) -> None:
    await store.ask(SavePluginConfig("clock-simple", {"show_date": False}))
    last = await store.ask(SetPluginEnabled("weather", True))
    flags = await store.ask(GetPluginFlags())
    assert flags == PluginFlags(last.generation, {"clock-simple": False, "weather": True})


async def test_boundary_errors_touch_nothing(store: Harness) -> None:
    before = config_files(store.paths)
    for plugin_id in ("../config", "display", "", "Clock"):
        with pytest.raises(PlugvisorError) as caught:
            await store.ask(SavePluginConfig(plugin_id, {}))
        assert caught.value.code is ErrorCode.INVALID_INPUT
    with pytest.raises(PlugvisorError) as caught:
        await store.ask(GetPluginConfig("not-installed"))
    assert caught.value.code is ErrorCode.PLUGIN_NOT_FOUND
    assert caught.value.message == "Plugin 'not-installed' is not installed"
    with pytest.raises(PlugvisorError) as caught:
        await store.ask(SavePluginConfig("bare", ["not", "an", "object"]))  # type: ignore[arg-type]
    assert caught.value.context == {"field": "config"}
    assert config_files(store.paths) == before
    assert store.config_events() == []


async def test_install_and_uninstall_hooks(store: Harness) -> None:
    created = await store.ask(EnsurePluginEntry("clock-simple"))
    assert (created.changed, created.data) == (True, {"plugin_id": "clock-simple", "created": True})
    assert read_json(store.paths.config_dir / "config.json")["clock-simple"] == {"enabled": False}
    again = await store.ask(EnsurePluginEntry("clock-simple", enabled=True))
    assert (again.changed, again.backup_id) == (False, None)
    toggled = await store.ask(SetPluginEnabled("clock-simple", True))
    assert toggled.data == {"plugin_id": "clock-simple", "enabled": True}
    await store.ask(SavePluginConfig("weather", {"api_key": "k"}))
    dropped = await store.ask(DropPluginConfig("weather"))
    assert dropped.data == {"plugin_id": "weather", "removed": True}
    config = read_json(store.paths.config_dir / "config.json")
    assert "weather" not in config and config["clock-simple"] == {"enabled": True}
    assert "weather" not in read_json(store.paths.config_dir / "config_secrets.json")
    assert (await store.ask(DropPluginConfig("weather"))).changed is False
    kinds = [e["kind"] for e in store.config_events()]
    assert kinds == ["config_ensure", "enable", "configure", "config_drop"]


async def test_health_reason_after_falling_back_to_a_backup(paths: DataPaths) -> None:
    async with running_store(paths) as store:
        await store.ask(SavePluginConfig("clock-simple", {"show_date": False}))
        await store.ask(SavePluginConfig("clock-simple", {"show_date": True}))
        assert await store.ask(GetHealthReasons()) == []
    (paths.config_dir / "config.json").write_bytes(b'{"clock-simple": {"show_da')
    async with running_store(paths) as store:
        [reason] = await store.ask(GetHealthReasons())
        assert reason.code == "config_restored_from_backup"
        assert reason.detail == "config.json is not valid JSON (torn or damaged)"
        assert set(reason.to_dict()) >= {"code", "message", "since", "detail", "remediation"}
        view = await store.ask(GetPluginConfig("clock-simple"))
        assert view.data["show_date"] is False  # the newest valid backup
