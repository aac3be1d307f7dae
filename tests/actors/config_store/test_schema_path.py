"""The schema a plugin's manifest names (``config_schema``) is the one its config obeys."""

from __future__ import annotations

import orjson
import pytest

from actors.config_store import MASK, GetPluginConfig, SavePluginConfig
from actors.errors import ErrorCode, PlugvisorError
from actors.paths import DataPaths

from .helpers import Harness, read_json


def install_with_schema_at(paths: DataPaths, plugin_id: str, schema_file: str) -> None:
    folder = paths.plugins_dir / plugin_id
    (folder / schema_file).parent.mkdir(parents=True, exist_ok=True)
    manifest = {"id": plugin_id, "name": plugin_id, "config_schema": schema_file}
    (folder / "manifest.json").write_bytes(orjson.dumps(manifest))
    schema = {
        "type": "object",
        "properties": {"token": {"type": "string", "x-secret": True}, "city": {"type": "string"}},
    }
    (folder / schema_file).write_bytes(orjson.dumps(schema))


async def test_a_schema_named_by_the_manifest_keeps_its_secrets_secret(
    store: Harness, paths: DataPaths
) -> None:
    install_with_schema_at(paths, "elsewhere", "schema/config.json")
    await store.ask(SavePluginConfig("elsewhere", {"token": "s3cr3t", "city": "Oslo"}))
    view = await store.ask(GetPluginConfig("elsewhere"))
    assert view.data["token"] == MASK and view.data["city"] == "Oslo"
    assert "s3cr3t" not in (paths.config_dir / "config.json").read_text()
    assert read_json(paths.config_dir / "config_secrets.json")["elsewhere"] == {"token": "s3cr3t"}
    with pytest.raises(PlugvisorError) as refused:
        await store.ask(SavePluginConfig("elsewhere", {"city": 5}))
    assert refused.value.code is ErrorCode.CONFIG_VALIDATION_FAILED
    assert refused.value.context["validation_errors"][0]["path"] == "/city"


async def test_a_manifest_naming_a_schema_outside_the_plugin_is_refused(
    store: Harness, paths: DataPaths
) -> None:
    install_with_schema_at(paths, "sneaky", "schema.json")
    manifest = paths.plugins_dir / "sneaky" / "manifest.json"
    manifest.write_bytes(orjson.dumps({"id": "sneaky", "name": "s", "config_schema": "../vault/x"}))
    with pytest.raises(PlugvisorError) as refused:
        await store.ask(GetPluginConfig("sneaky"))
    assert refused.value.code is ErrorCode.CONFIG_LOAD_FAILED
