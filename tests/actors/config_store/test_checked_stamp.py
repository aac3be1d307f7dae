"""The ``checked`` stamp of config.json: a start skips the schema check only for system keys
that passed it against the very same schemas; anything else is checked as before."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from actors.config_store.actor import DEFAULT_CONFIG
from actors.config_store.loading import ConfigFiles, system_keys
from actors.config_store.schemas import SHIPPED_CONFIG_DIR, SystemSchemas
from actors.config_store.validation import check_schema, plugin_schema
from actors.fsio import Syncer
from actors.paths import DataPaths

from .helpers import read_json

DEFAULTS = read_json(DEFAULT_CONFIG)


class CountingSchemas(SystemSchemas):
    """The shipped schemas, counting how often the main schema check really runs."""

    def __init__(self, main_raw: bytes, schedule_raw: bytes) -> None:
        super().__init__(main_raw, schedule_raw)
        self.checks = 0

    def main_errors(self, system: dict[str, Any]) -> list[dict[str, str]]:
        self.checks += 1
        return super().main_errors(system)


def shipped(folder: Path = SHIPPED_CONFIG_DIR / "schemas") -> CountingSchemas:
    return CountingSchemas(
        (folder / "main.schema.json").read_bytes(),
        (folder / "schedule.schema.json").read_bytes(),
    )


def files(paths: DataPaths, schemas: SystemSchemas) -> ConfigFiles:
    return ConfigFiles(
        paths.config_dir,
        syncer=Syncer(),
        check_system=schemas.main_errors,
        stamp_system=schemas.stamp,
        defaults_path=DEFAULT_CONFIG,
    )


@pytest.fixture
def paths(tmp_path: Path) -> DataPaths:
    return DataPaths(tmp_path / "data")


def saved(paths: DataPaths, schemas: SystemSchemas, **sections: Any) -> ConfigFiles:
    store = files(paths, schemas)
    snap = store.load().snapshot
    store.commit(snap, {**snap.config, **sections}, snap.secrets, keep=5)
    return store


def rewrite_live(paths: DataPaths, change: dict[str, Any]) -> None:
    """Edit config.json by hand, keeping its marker (and so its stamp) as it was."""
    live = paths.config_dir / "config.json"
    doc = {**read_json(live), **change}
    temp = live.with_name("config.json.edit")
    temp.write_bytes(orjson.dumps(doc))
    os.replace(temp, live)


def test_the_shipped_schemas_and_the_core_properties_are_valid_draft_7() -> None:
    """They are trusted (never checked at start), so they are checked here."""
    for name in ("main.schema.json", "schedule.schema.json"):
        check_schema(orjson.loads((SHIPPED_CONFIG_DIR / "schemas" / name).read_bytes()))
    check_schema(plugin_schema(None))


def test_a_config_the_store_wrote_loads_without_a_schema_check(paths: DataPaths) -> None:
    saved(paths, shipped(), timezone="Europe/Paris")
    marker = read_json(paths.config_dir / "config.json")["_plugvisor"]
    expected = shipped().stamp({**system_keys(DEFAULTS), "timezone": "Europe/Paris"})
    assert marker["checked"] == expected

    again = shipped()
    loaded = files(paths, again).load()
    assert (loaded.source, loaded.snapshot.config["timezone"]) == ("live", "Europe/Paris")
    assert again.checks == 0


def test_a_plugin_save_keeps_the_stamp_without_checking_again(paths: DataPaths) -> None:
    saved(paths, shipped())
    schemas = shipped()
    store = files(paths, schemas)
    snap = store.load().snapshot
    store.commit(snap, {**snap.config, "clock": {"enabled": False}}, snap.secrets, keep=5)
    assert schemas.checks == 0
    assert read_json(paths.config_dir / "config.json")["_plugvisor"]["checked"] == schemas.stamp(
        system_keys(DEFAULTS)
    )


def test_a_hand_edit_of_a_system_key_is_checked_and_refused(paths: DataPaths) -> None:
    saved(paths, shipped(), timezone="Europe/Paris")
    rewrite_live(paths, {"display": 5})
    schemas = shipped()
    loaded = files(paths, schemas).load()
    assert schemas.checks >= 1
    assert loaded.source.startswith("backup:")
    assert [r.detail for r in loaded.reasons] == [
        "config.json is not a valid configuration (/display: must be an object)"
    ]


def test_a_valid_hand_edit_is_checked_then_loaded(paths: DataPaths) -> None:
    saved(paths, shipped())
    rewrite_live(paths, {"timezone": "Asia/Tokyo"})
    schemas = shipped()
    loaded = files(paths, schemas).load()
    assert (loaded.source, schemas.checks) == ("live", 1)


def test_other_schemas_check_again(paths: DataPaths, tmp_path: Path) -> None:
    """An upgrade that changes a schema file: the stamp no longer matches, the check runs."""
    saved(paths, shipped())
    folder = tmp_path / "schemas"
    folder.mkdir()
    for name in ("main.schema.json", "schedule.schema.json"):
        doc = orjson.loads((SHIPPED_CONFIG_DIR / "schemas" / name).read_bytes())
        doc["description"] = "changed"
        (folder / name).write_bytes(orjson.dumps(doc))
    schemas = shipped(folder)
    loaded = files(paths, schemas).load()
    assert (loaded.source, schemas.checks) == ("live", 1)


def test_no_stamp_for_system_keys_that_fail_the_check(paths: DataPaths) -> None:
    store = files(paths, shipped())
    store.load()
    assert store.checked_stamp({**DEFAULTS, "display": 5}) is None
    assert store.checked_stamp(DEFAULTS) == shipped().stamp(system_keys(DEFAULTS))
