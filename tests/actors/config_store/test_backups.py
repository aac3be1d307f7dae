"""Backups through the actor: unique ids within one second, rotation, restore of an exact pair."""

from __future__ import annotations

import pytest

from actors.config_store import (
    GetPluginConfig,
    ListBackups,
    RestoreBackup,
    SaveMainConfig,
    SavePluginConfig,
)
from actors.config_store import backups as backups_module
from actors.config_store.backups import sort_key
from actors.errors import ErrorCode, PlugvisorError
from actors.paths import DataPaths

from .helpers import Harness, read_json, running_store


async def save_counter(store: Harness, n: int) -> str:
    result = await store.ask(SavePluginConfig("vault", {"label": f"v{n}", "token": f"t{n}"}))
    return result.backup_id


async def test_same_second_saves_get_unique_ids_and_rotation_keeps_five(store: Harness) -> None:
    made = [await save_counter(store, n) for n in range(8)]
    assert len(set(made)) == 8
    seconds = {sort_key(backup_id)[0] // 1_000_000_000 for backup_id in made}
    assert len(seconds) <= 2  # most of them in the same second
    listed = await store.ask(ListBackups())
    assert [b.backup_id for b in listed] == made[::-1][:5]  # newest first, the five newest kept
    assert all(b.valid for b in listed)
    assert all(b.size > 0 for b in listed)
    assert [b.created_at for b in listed] == sorted((b.created_at for b in listed), reverse=True)
    names = sorted(p.name for p in (store.paths.config_dir / "backups").iterdir())
    assert len(names) == 10  # each backup and its secrets twin


async def test_restore_brings_back_that_exact_pair_and_is_backed_up_first(
    store: Harness,
) -> None:
    made = [await save_counter(store, n) for n in range(4)]
    # made[k] holds the state before save k: the backup of save 2 holds label v1 / token t1
    target = made[2]
    result = await store.ask(RestoreBackup(target))
    assert result.changed and result.data == {"restored_backup_id": target}
    view = (await store.ask(GetPluginConfig("vault"))).data
    assert view["label"] == "v1"
    secrets = read_json(store.paths.config_dir / "config_secrets.json")
    assert secrets["vault"] == {"token": "t1"}
    # the state before the restore (v3 / t3) is the newest backup now, restorable in turn
    newest = (await store.ask(ListBackups()))[0]
    assert newest.backup_id == result.backup_id
    await store.ask(RestoreBackup(newest.backup_id))
    assert (await store.ask(GetPluginConfig("vault"))).data["label"] == "v3"
    assert read_json(store.paths.config_dir / "config_secrets.json")["vault"] == {"token": "t3"}
    assert [e["kind"] for e in store.config_events()][-2:] == ["config_restore", "config_restore"]


async def test_restore_errors(store: Harness) -> None:
    await save_counter(store, 1)
    [backup] = await store.ask(ListBackups())
    with pytest.raises(PlugvisorError) as caught:
        await store.ask(RestoreBackup("1-1"))
    assert (caught.value.code, caught.value.context) == (ErrorCode.NOT_FOUND, {"backup_id": "1-1"})
    with pytest.raises(PlugvisorError) as caught:
        await store.ask(RestoreBackup("../config"))
    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert caught.value.context == {"field": "backup_id"}
    (store.paths.config_dir / "backups" / f"{backup.backup_id}.json").write_bytes(b"{")
    assert (await store.ask(ListBackups()))[0].valid is False
    with pytest.raises(PlugvisorError) as caught:
        await store.ask(RestoreBackup(backup.backup_id))
    assert caught.value.code is ErrorCode.CONFIG_ROLLBACK_FAILED


async def test_keep_setting_comes_from_the_main_config(store: Harness) -> None:
    await store.ask(SaveMainConfig({"system": {"backups": {"keep": 2}}}))
    for n in range(4):
        await save_counter(store, n)
    assert len(await store.ask(ListBackups())) == 2


async def test_ids_stay_ordered_when_the_clock_goes_back(
    paths: DataPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_store(paths) as store:
        first = await save_counter(store, 1)
    # a device without a clock battery boots in the past
    monkeypatch.setattr(backups_module.time, "time_ns", lambda: 1_000_000_000)
    async with running_store(paths) as store:
        second = await save_counter(store, 2)
        listed = [b.backup_id for b in await store.ask(ListBackups())]
    assert sort_key(second) > sort_key(first)
    assert listed == [second, first]
