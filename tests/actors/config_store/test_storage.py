"""The files of config/: first-start defaults, durable commits, torn and mismatched pairs."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import orjson
import pytest

from actors.config_store.actor import DEFAULT_CONFIG, open_files
from actors.config_store.commit import Snapshot, encode_secrets
from actors.config_store.loading import ConfigFiles, system_keys
from actors.config_store.schemas import SystemSchemas
from actors.errors import ErrorCode, PlugvisorError
from actors.fsio import Syncer
from actors.paths import DataPaths

from .helpers import read_json

SYSTEM = SystemSchemas.load()
DEFAULTS = read_json(DEFAULT_CONFIG)
CHECKED = SYSTEM.stamp(system_keys(DEFAULTS))  # the defaults' system keys, checked


class FullDisk(Syncer):
    """A disk that reports ENOSPC on fsync (as ext4 does with delayed allocation)."""

    def fsync(self, fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def files(paths: DataPaths, syncer: Syncer | None = None) -> ConfigFiles:
    return open_files(paths, SYSTEM, syncer=syncer)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def replace(path: Path, data: bytes) -> None:
    """Write as the store does (a new inode), never in place: backups share inodes by hard link."""
    temp = path.with_name(path.name + ".new")
    temp.write_bytes(data)
    os.replace(temp, path)


def save(store: ConfigFiles, snap: Snapshot, **sections: dict) -> Snapshot:
    config = {**snap.config, **{k: v for k, v in sections.items() if k != "secrets"}}
    secrets = sections.get("secrets", snap.secrets)
    return store.commit(snap, config, secrets, keep=5)[0]


def test_first_start_writes_the_shipped_defaults(paths: DataPaths) -> None:
    loaded = files(paths).load()
    assert loaded.source == "defaults"
    assert loaded.reasons == []
    assert loaded.snapshot == Snapshot(DEFAULTS, {}, 1, 0)
    on_disk = read_json(paths.config_dir / "config.json")
    marker = {"generation": 1, "secrets_generation": 0, "checked": CHECKED}
    assert on_disk == {"_plugvisor": marker, **DEFAULTS}
    assert mode(paths.config_dir / "config.json") == 0o644
    assert not (paths.config_dir / "config_secrets.json").exists()


def test_shipped_defaults_satisfy_the_main_schema() -> None:
    assert SYSTEM.main_errors(DEFAULTS) == []


def test_commit_is_durable_with_modes_and_matching_generations(paths: DataPaths) -> None:
    syncer = Syncer()
    store = files(paths, syncer)
    snap = store.load().snapshot
    before = syncer.count
    new = save(store, snap, weather={"enabled": True}, secrets={"weather": {"api_key": "k1"}})
    # secrets temp + config temp + backups folder + config folder
    assert syncer.count - before == 4
    assert (new.generation, new.secrets_generation) == (2, 2)
    assert read_json(paths.config_dir / "config_secrets.json") == {
        "_plugvisor": {"generation": 2},
        "weather": {"api_key": "k1"},
    }
    assert read_json(paths.config_dir / "config.json")["_plugvisor"] == {
        "generation": 2,
        "secrets_generation": 2,
        "checked": CHECKED,
    }
    assert mode(paths.config_dir / "config.json") == 0o644
    assert mode(paths.config_dir / "config_secrets.json") == 0o600
    assert files(paths).load().snapshot == new


def test_secrets_file_is_rewritten_only_when_secrets_change(paths: DataPaths) -> None:
    syncer = Syncer()
    store = files(paths, syncer)
    snap = save(store, store.load().snapshot, secrets={"weather": {"api_key": "k1"}})
    inode = (paths.config_dir / "config_secrets.json").stat().st_ino
    before = syncer.count
    snap = save(store, snap, weather={"enabled": False})
    assert syncer.count - before == 3  # no secrets temp file
    assert (paths.config_dir / "config_secrets.json").stat().st_ino == inode
    assert (snap.generation, snap.secrets_generation) == (3, 2)
    assert files(paths).load().snapshot == snap


def test_backup_is_a_hard_link_of_the_replaced_files(paths: DataPaths) -> None:
    store = files(paths)
    snap = save(store, store.load().snapshot, secrets={"weather": {"api_key": "k1"}})
    config_inode = (paths.config_dir / "config.json").stat().st_ino
    secrets_inode = (paths.config_dir / "config_secrets.json").stat().st_ino
    _, backup_id = store.commit(snap, {**snap.config, "timezone": "Europe/Paris"}, snap.secrets, 5)
    assert backup_id is not None
    config_backup, secrets_backup = store.backups.paths(backup_id)
    assert config_backup.stat().st_ino == config_inode
    assert secrets_backup.stat().st_ino == secrets_inode
    assert mode(secrets_backup) == 0o600


def test_torn_config_falls_back_to_newest_valid_backup(paths: DataPaths) -> None:
    store = files(paths)
    snap = save(store, store.load().snapshot, timezone="Europe/Paris", secrets={"x": {"k": "v"}})
    snap = save(store, snap, timezone="Europe/Berlin")
    live = paths.config_dir / "config.json"
    raw = live.read_bytes()
    live.write_bytes(raw[: len(raw) // 2])  # a torn write, as a power cut without fsync leaves
    loaded = files(paths).load()
    assert loaded.source.startswith("backup:")
    assert loaded.snapshot.config["timezone"] == "Europe/Paris"
    assert loaded.snapshot.secrets == {"x": {"k": "v"}}
    [reason] = loaded.reasons
    assert reason.code == "config_restored_from_backup"
    assert reason.detail == "config.json is not valid JSON (torn or damaged)"
    assert reason.message.endswith(loaded.source.removeprefix("backup:"))
    [rejected] = paths.config_dir.glob("config.json.damaged-*")
    assert f"config/{rejected.name}" in (reason.remediation or "")
    assert rejected.read_bytes() == raw[: len(raw) // 2]
    again = files(paths).load()  # the live files were repaired
    assert (again.source, again.reasons, again.snapshot) == ("live", [], loaded.snapshot)


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"[1, 2]", "config.json is not a JSON object"),
        (b'{"_plugvisor": {"generation": "x"}}', "config.json has a malformed generation marker"),
        (
            b'{"_plugvisor": {"generation": 9, "secrets_generation": 0}, "display": 5}',
            "config.json is not a valid configuration (/display: must be an object)",
        ),
        (b"", "config.json is not valid JSON (torn or damaged)"),
    ],
)
def test_invalid_config_falls_back_with_the_reason(
    paths: DataPaths, content: bytes, detail: str
) -> None:
    store = files(paths)
    snap = save(store, store.load().snapshot, timezone="Europe/Paris")
    save(store, snap, timezone="Europe/Berlin")
    (paths.config_dir / "config.json").write_bytes(content)
    loaded = files(paths).load()
    assert (loaded.snapshot.config, loaded.snapshot.secrets) == (snap.config, snap.secrets)
    assert [(r.code, r.detail) for r in loaded.reasons] == [("config_restored_from_backup", detail)]


def test_nothing_valid_anywhere_is_a_loud_reset_never_a_silent_one(paths: DataPaths) -> None:
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    (paths.config_dir / "config.json").write_bytes(b'{"display": ')
    loaded = files(paths).load()
    assert loaded.snapshot.config == DEFAULTS
    [reason] = loaded.reasons
    assert (reason.code, reason.severity) == ("config_reset_to_defaults", "unhealthy")
    [rejected] = paths.config_dir.glob("config.json.damaged-*")
    assert rejected.read_bytes() == b'{"display": '
    assert f"config/{rejected.name}" in (reason.remediation or "")


def test_crash_between_the_two_renames_keeps_the_old_pair(paths: DataPaths) -> None:
    """The new secrets landed but the config rename did not: the old config's secrets come back."""
    store = files(paths)
    snap = save(store, store.load().snapshot, secrets={"w": {"k": "old"}})
    snap = save(store, snap, timezone="Europe/Paris")  # its backup holds the secrets twin
    secrets_path = paths.config_dir / "config_secrets.json"
    replace(secrets_path, encode_secrets({"w": {"k": "new"}}, snap.generation + 1))
    loaded = files(paths).load()
    assert (loaded.source, loaded.reasons) == ("live", [])
    assert loaded.snapshot == snap
    assert read_json(secrets_path) == {"_plugvisor": {"generation": 2}, "w": {"k": "old"}}


def test_config_landing_without_its_secrets_falls_back_to_the_pair_before(
    paths: DataPaths,
) -> None:
    """Renames reordered by a power cut: config names secrets that never reached the disk."""
    store = files(paths)
    snap = save(store, store.load().snapshot, secrets={"w": {"k": "old"}})
    live = paths.config_dir / "config.json"
    doc = read_json(live)
    doc["_plugvisor"] = {"generation": 3, "secrets_generation": 3}
    secrets = paths.config_dir / "config_secrets.json"
    store.backups.link(store.backups.new_id(snap.generation), live, secrets)
    replace(live, orjson.dumps(doc))
    loaded = files(paths).load()
    assert (loaded.snapshot.config, loaded.snapshot.secrets) == (snap.config, snap.secrets)
    assert [r.detail for r in loaded.reasons] == ["the secrets of generation 3 are missing"]
    # the generation of the discarded config is never handed out again
    assert (loaded.snapshot.generation, loaded.snapshot.secrets_generation) == (4, 2)
    assert files(paths).load().snapshot == loaded.snapshot


def test_stale_temp_files_are_removed_at_load(paths: DataPaths) -> None:
    files(paths).load()
    leftover = paths.config_dir / ".config.json.tmp.123.4"
    leftover.write_bytes(b"{")
    files(paths).load()
    assert not leftover.exists()


def test_legacy_config_without_marker_loads_and_gains_one(paths: DataPaths) -> None:
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    (paths.config_dir / "config.json").write_bytes(orjson.dumps({"timezone": "UTC", "clock": {}}))
    (paths.config_dir / "config_secrets.json").write_bytes(orjson.dumps({"w": {"k": "s"}}))
    store = files(paths)
    loaded = store.load()
    assert loaded.source == "live"
    assert loaded.snapshot.secrets == {"w": {"k": "s"}}
    snap = save(store, loaded.snapshot, timezone="Europe/Paris")
    assert snap.secrets_generation == snap.generation  # rewritten with its marker
    assert files(paths).load().snapshot == snap


def test_full_disk_fails_cleanly_and_leaves_the_previous_pair(paths: DataPaths) -> None:
    store = files(paths)
    snap = save(store, store.load().snapshot, secrets={"w": {"k": "old"}})
    before = {p.name: p.read_bytes() for p in paths.config_dir.rglob("*") if p.is_file()}
    failing = files(paths, FullDisk())
    failing.load()
    with pytest.raises(PlugvisorError) as caught:
        failing.commit(snap, {**snap.config, "timezone": "X"}, {"w": {"k": "new"}}, 5)
    assert caught.value.code is ErrorCode.INSUFFICIENT_STORAGE
    after = {p.name: p.read_bytes() for p in paths.config_dir.rglob("*") if p.is_file()}
    assert after == before  # no temp file, no new backup, old pair untouched


def test_a_damaged_secrets_file_is_set_aside_and_its_twin_takes_its_place(
    paths: DataPaths,
) -> None:
    store = files(paths)
    snap = save(store, store.load().snapshot, secrets={"w": {"k": "v"}})
    snap = save(store, snap, timezone="Europe/Paris")  # links the secrets twin into backups/
    secrets = paths.config_dir / "config_secrets.json"
    secrets.unlink()
    secrets.mkdir()
    loaded = files(paths).load()
    assert (loaded.source, loaded.snapshot) == ("live", snap)
    [aside] = paths.config_dir.glob("config_secrets.json.damaged-*")
    assert aside.is_dir() and read_json(secrets)["w"] == {"k": "v"}
    [reason] = loaded.reasons
    assert reason.code == "damaged_file_set_aside"
    assert reason.detail is not None and reason.detail.startswith(
        "config/config_secrets.json is a folder where a file should be; "
        f"it was renamed to {aside.name}. Lost: nothing: the same secrets were restored from "
        "backup "
    )


def test_damaged_secrets_without_a_twin_fall_back_with_both_reasons(paths: DataPaths) -> None:
    store = files(paths)
    first = save(store, store.load().snapshot, timezone="Europe/Paris")
    save(store, first, secrets={"w": {"k": "v"}})  # no backup holds these secrets
    (paths.config_dir / "config_secrets.json").write_bytes(b"\x00garbage")
    loaded = files(paths).load()
    assert loaded.snapshot.config["timezone"] == "Europe/Paris"
    assert [(r.code, r.detail) for r in loaded.reasons] == [
        (
            "damaged_file_set_aside",
            "config/config_secrets.json is not valid JSON (torn or damaged); it was renamed to "
            f"{next(paths.config_dir.glob('config_secrets.json.damaged-*')).name}. Lost: its "
            "secrets, with the configuration naming them (see the next reason)",
        ),
        ("config_restored_from_backup", "the secrets of generation 3 are missing"),
    ]


def test_a_file_where_backups_should_be_is_set_aside(paths: DataPaths) -> None:
    store = files(paths)
    snap = save(store, store.load().snapshot, timezone="Europe/Paris")
    backups = paths.config_dir / "backups"
    for entry in backups.iterdir():
        entry.unlink()
    backups.rmdir()
    backups.write_bytes(b"not a folder")
    again = files(paths)
    loaded = again.load()
    assert (loaded.source, loaded.snapshot) == ("live", snap)
    [reason] = loaded.reasons
    assert reason.message.startswith("config/backups was damaged")
    assert backups.is_dir() and next(paths.config_dir.glob("backups.damaged-*")).is_file()
    save(again, snap, timezone="UTC")  # saves make backups again
    assert list(backups.glob("*.json"))
