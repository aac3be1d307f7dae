"""A lost configuration (config.json and backups gone from a used device) is never silent."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from actors.config_store.actor import DEFAULT_CONFIG, open_files
from actors.config_store.commit import encode_secrets
from actors.config_store.loading import Loaded, system_keys
from actors.config_store.lost import INSTALL_RECORD
from actors.config_store.schemas import SystemSchemas
from actors.health_reasons import GetHealthReasons
from actors.installer.inventory import RECORD_FILE
from actors.installer.tombstones import TOMBSTONES_FILE
from actors.paths import DataPaths

from .helpers import read_json, running_store

DEFAULTS = read_json(DEFAULT_CONFIG)
SECRETS = encode_secrets({"vault": {"token": "s3cret"}}, 4)


def load(paths: DataPaths) -> Loaded:
    return open_files(paths, SystemSchemas.load()).load()


def write(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)


SIGNS: dict[str, tuple[Callable[[DataPaths], None], str]] = {
    "installed plugin": (
        lambda p: write(p.plugins_dir / "clock" / RECORD_FILE, b"{}"),
        "1 installed plugin(s)",
    ),
    "tombstones": (
        lambda p: write(p.plugins_dir / TOMBSTONES_FILE, b'{"uninstalled": {}}'),
        "a record of uninstalled plugins",
    ),
    "state": (
        lambda p: write(p.state_dir / "plugin_state.json", b"{}"),
        "the plugin state",
    ),
    "history": (
        lambda p: write(p.history_dir / "operations-0001.jsonl", b'{"operation_id": "x"}\n'),
        "the operation history",
    ),
    "journal": (
        lambda p: write(p.journal_dir / "operations.jsonl", b'{"operation_id": "x"}\n'),
        "the operation journal",
    ),
    "secrets file": (
        lambda p: write(p.config_dir / "config_secrets.json", SECRETS, 0o600),
        "a secrets file",
    ),
    "backups entry": (
        lambda p: write(p.config_dir / "backups" / "1-2.secrets.json", SECRETS, 0o600),
        "files in config/backups",
    ),
}


def test_the_installer_names_agree_with_what_the_loader_looks_for() -> None:
    assert INSTALL_RECORD == RECORD_FILE
    assert TOMBSTONES_FILE == ".tombstones.json"


def test_a_first_start_with_plugins_copied_in_by_hand_is_no_lost_config(
    paths: DataPaths,
) -> None:
    assert (paths.plugins_dir / "hello-world" / "manifest.json").is_file()  # no install record
    loaded = load(paths)
    assert (loaded.source, loaded.reasons, loaded.events) == ("defaults", [], [])


@pytest.mark.parametrize("sign", list(SIGNS))
def test_any_sign_of_earlier_use_makes_missing_config_a_lost_one(tmp_path: Path, sign: str) -> None:
    paths = DataPaths(tmp_path / "data")
    paths.ensure()
    make, shown = SIGNS[sign]
    make(paths)
    loaded = load(paths)
    assert loaded.snapshot.config == DEFAULTS
    [reason] = loaded.reasons
    assert (reason.code, reason.severity) == ("config_lost", "unhealthy")
    assert reason.message == "The configuration was lost; the shipped defaults are in use"
    assert f"the device was used before ({shown})" in (reason.detail or "")
    assert reason.remediation
    [event] = loaded.events
    assert (event["kind"], event["status"], event["evidence"]) == (
        "config_restore",
        "failed",
        [shown],
    )


def test_the_orphaned_secrets_are_set_aside_never_paired_with_defaults(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "data")
    paths.ensure()
    SIGNS["installed plugin"][0](paths)
    SIGNS["history"][0](paths)
    secrets = paths.config_dir / "config_secrets.json"
    write(secrets, SECRETS, 0o600)
    inode = secrets.stat().st_ino

    loaded = load(paths)

    [aside] = paths.config_dir.glob("config_secrets.json.lost-*")
    assert aside.stat().st_ino == inode and aside.read_bytes() == SECRETS  # renamed, not copied
    assert stat.S_IMODE(aside.stat().st_mode) == 0o600
    assert not secrets.exists()
    assert (loaded.snapshot.secrets, loaded.snapshot.secrets_generation) == ({}, 0)
    on_disk = read_json(paths.config_dir / "config.json")
    assert on_disk == {
        "_plugvisor": {
            "generation": loaded.snapshot.generation,
            "secrets_generation": 0,
            "checked": SystemSchemas.load().stamp(system_keys(DEFAULTS)),
        },
        **DEFAULTS,
    }
    [reason] = loaded.reasons
    assert reason.detail == (
        "config.json and its backups are missing, but the device was used before "
        "(a secrets file, 1 installed plugin(s), the operation history); the shipped defaults "
        f"were written; the secrets file of the lost configuration was set aside as "
        f"config/{aside.name}"
    )
    assert f"config/{aside.name} (mode 0600)" in (reason.remediation or "")
    assert "s3cret" not in repr(reason) and "s3cret" not in repr(loaded.events)
    assert loaded.events == [
        {
            "kind": "config_restore",
            "plugin_id": None,
            "generation": loaded.snapshot.generation,
            "backup_id": None,
            "status": "failed",
            "error": {
                "error_code": "CONFIG_LOAD_FAILED",
                "message": "The configuration was lost; the shipped defaults were written",
            },
            "user": "local",
            "reason": "config_lost",
            "evidence": ["a secrets file", "1 installed plugin(s)", "the operation history"],
            "defaults_written": True,
            "secrets_set_aside": f"config/{aside.name}",
        }
    ]
    again = load(paths)  # reported once: the next start finds the defaults it wrote
    assert (again.source, again.reasons, again.events) == ("live", [], [])


async def test_the_store_reports_it_and_publishes_it_for_the_history(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "data")
    paths.ensure()
    SIGNS["state"][0](paths)
    async with running_store(paths) as store:
        [reason] = await store.ask(GetHealthReasons())
        assert reason.code == "config_lost"
        [event] = store.config_events()
        assert (event["kind"], event["status"], event["reason"]) == (
            "config_restore",
            "failed",
            "config_lost",
        )
    assert orjson.loads((paths.config_dir / "config.json").read_bytes())["_plugvisor"]
    assert not os.path.lexists(paths.config_dir / "config_secrets.json")
