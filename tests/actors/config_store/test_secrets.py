"""Secrets: only in config_secrets.json (0600), masked on every read, never in logs or events."""

from __future__ import annotations

import stat

import orjson
import pytest
from structlog.testing import capture_logs

from actors.config_store import (
    MASK,
    GetMainConfig,
    GetPluginConfig,
    ListBackups,
    SaveMainConfig,
    SavePluginConfig,
)
from actors.config_store.secrets import apply_update, join, masked, split_section
from actors.errors import ErrorCode, PlugvisorError

from .helpers import VAULT_SCHEMA, Harness, read_json

SECRET = "s3cr3t-Value-42"


def secrets_file(store: Harness) -> dict:
    return read_json(store.paths.config_dir / "config_secrets.json")


def test_split_join_and_mask_round_trip() -> None:
    section = {
        "label": "x",
        "token": "t",
        "account": {"user": "u", "password": "p"},
        "feeds": [{"url": "a", "key": "k1"}, {"url": "b"}],
    }
    clear, secret = split_section(VAULT_SCHEMA, section)
    assert clear == {"label": "x", "account": {"user": "u"}, "feeds": [{"url": "a"}, {"url": "b"}]}
    assert secret == {"token": "t", "account": {"password": "p"}, "feeds": [{"key": "k1"}, {}]}
    assert join(clear, secret) == section
    assert masked(VAULT_SCHEMA, clear, secret) == {
        "label": "x",
        "token": MASK,
        "account": {"user": "u", "password": MASK},
        "feeds": [{"url": "a", "key": MASK}, {"url": "b"}],
    }
    # a schema secret that an older version stored in clear text is masked too
    assert masked(VAULT_SCHEMA, {"token": "legacy"}, {}) == {"token": MASK}
    assert MASK == "\u2022" * 8


def test_update_semantics_mask_keeps_null_clears() -> None:
    stored = {"token": "t", "label": "x", "feeds": [{"url": "a", "key": "k"}]}
    shown = {"token": MASK, "label": "x", "feeds": [{"url": "a", "key": MASK}]}
    assert apply_update(stored, shown, {"token": MASK, "label": "y"}) == {**stored, "label": "y"}
    assert apply_update(stored, shown, {"token": None}) == {"label": "x", "feeds": stored["feeds"]}
    unchanged_list = {"feeds": [{"url": "a", "key": MASK}, {"url": "c", "key": "new"}]}
    assert apply_update(stored, shown, unchanged_list)["feeds"] == [
        {"url": "a", "key": "k"},
        {"url": "c", "key": "new"},
    ]
    with pytest.raises(PlugvisorError) as caught:
        apply_update(stored, shown, {"feeds": [{"url": "changed", "key": MASK}]})
    assert caught.value.context["validation_errors"] == [
        {
            "path": "/feeds/0",
            "message": "keeps a masked secret but the list item changed; send the secret again,"
            " or null to clear it",
        }
    ]


async def test_secret_lives_only_in_the_secrets_file_and_every_read_masks_it(
    store: Harness,
) -> None:
    result = await store.ask(SavePluginConfig("weather", {"api_key": SECRET, "enabled": True}))
    assert result.data["api_key"] == MASK
    config_bytes = (store.paths.config_dir / "config.json").read_bytes()
    assert SECRET.encode() not in config_bytes
    assert secrets_file(store)["weather"] == {"api_key": SECRET}
    mode = stat.S_IMODE((store.paths.config_dir / "config_secrets.json").stat().st_mode)
    assert mode == 0o600
    view = await store.ask(GetPluginConfig("weather"))
    assert view.data["api_key"] == MASK
    assert SECRET not in view.etag
    await store.ask(SaveMainConfig({"plugin_system": {"github_token": SECRET}}))
    main = await store.ask(GetMainConfig())
    assert main.data["plugin_system"]["github_token"] == MASK
    assert SECRET.encode() not in (store.paths.config_dir / "config.json").read_bytes()
    assert SECRET.encode() not in orjson.dumps([e.data for e in store.events])
    assert SECRET not in repr(await store.ask(ListBackups()))


async def test_masked_or_omitted_secret_keeps_its_value_and_null_clears_it(
    store: Harness,
) -> None:
    await store.ask(SavePluginConfig("weather", {"api_key": SECRET}))
    shown = (await store.ask(GetPluginConfig("weather"))).data
    await store.ask(SavePluginConfig("weather", {**shown, "units": "metric"}))  # mask sent back
    await store.ask(SavePluginConfig("weather", {"location_city": "Lyon"}))  # omitted
    assert secrets_file(store)["weather"] == {"api_key": SECRET}
    await store.ask(SavePluginConfig("weather", {"api_key": None}))
    assert "weather" not in secrets_file(store)
    view = (await store.ask(GetPluginConfig("weather"))).data
    assert "api_key" not in view  # an unset secret is not shown with its placeholder default
    assert (view["units"], view["location_city"]) == ("metric", "Lyon")


async def test_nested_and_listed_secrets(store: Harness) -> None:
    config = {
        "token": "tok",
        "account": {"user": "me", "password": "pw"},
        "feeds": [{"url": "a", "key": "k1"}, {"url": "b", "key": "k2"}],
    }
    await store.ask(SavePluginConfig("vault", config))
    assert secrets_file(store)["vault"] == {
        "token": "tok",
        "account": {"password": "pw"},
        "feeds": [{"key": "k1"}, {"key": "k2"}],
    }
    shown = (await store.ask(GetPluginConfig("vault"))).data
    assert shown["feeds"] == [{"url": "a", "key": MASK}, {"url": "b", "key": MASK}]
    assert shown["account"] == {"user": "me", "password": MASK}
    # an unchanged list round-trips; an appended item brings its own secret
    shown["feeds"].append({"url": "c", "key": "k3"})
    await store.ask(SavePluginConfig("vault", shown))
    assert secrets_file(store)["vault"]["feeds"] == [{"key": "k1"}, {"key": "k2"}, {"key": "k3"}]
    # removing the first item shifts indices: a kept mask would land on the wrong feed
    with pytest.raises(PlugvisorError) as caught:
        await store.ask(SavePluginConfig("vault", {"feeds": shown["feeds"][1:]}))
    assert caught.value.code is ErrorCode.CONFIG_VALIDATION_FAILED
    assert [e["path"] for e in caught.value.context["validation_errors"]] == ["/feeds/0"]
    assert secrets_file(store)["vault"]["feeds"] == [{"key": "k1"}, {"key": "k2"}, {"key": "k3"}]


async def test_secrets_never_reach_the_logs(store: Harness) -> None:
    with capture_logs() as logs:
        await store.ask(SavePluginConfig("weather", {"api_key": SECRET}))
        await store.ask(SavePluginConfig("vault", {"token": SECRET, "label": SECRET}))
        with pytest.raises(PlugvisorError) as caught:  # a refused secret is not echoed either
            await store.ask(SavePluginConfig("vault", {"token": 12345678, "account": SECRET}))
        await store.ask(GetPluginConfig("weather"))
    assert logs, "the store logs its saves"
    assert SECRET not in repr(logs)
    assert "12345678" not in repr(logs)
    assert "12345678" not in repr(caught.value.context) + (caught.value.details or "")
    assert SECRET not in repr(caught.value.context) + (caught.value.details or "")
