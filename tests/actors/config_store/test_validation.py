"""Validation on the real LEDMatrix plugin schemas: every error at its path, core keys, defaults."""

from __future__ import annotations

from typing import Any

import pytest

from actors.config_store import (
    GetMainConfig,
    GetPluginConfig,
    GetPluginSchema,
    GetSchedule,
    SaveMainConfig,
    SavePluginConfig,
    SaveSchedule,
)
from actors.errors import ErrorCode, PlugvisorError

from .helpers import Harness

WEEK = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


async def refused(store: Harness, message: Any) -> PlugvisorError:
    with pytest.raises(PlugvisorError) as caught:
        await store.ask(message)
    return caught.value


async def errors_of(store: Harness, message: Any) -> list[dict[str, str]]:
    error = await refused(store, message)
    assert error.code is ErrorCode.CONFIG_VALIDATION_FAILED
    return error.context["validation_errors"]


async def test_clock_simple_lists_every_error_at_its_path(store: Harness) -> None:
    config = {
        "update_interval": 0,
        "time_format": "13h",
        "timezone": 5,
        "customization": {"time_text": {"font_size": 99, "text_color": [1, 2], "font": "x.ttf"}},
        "bogus": 1,
        "display_duration": 4000,
    }
    error = await refused(store, SavePluginConfig("clock-simple", config))
    assert error.context == {
        "plugin_id": "clock-simple",
        "validation_errors": [
            {"path": "/bogus", "message": "is not an allowed key"},
            {
                "path": "/customization/time_text/font",
                "message": 'must be one of ["PressStart2P-Regular.ttf","4x6-font.ttf",'
                '"5by7.regular.ttf","5x7.bdf","4x6.bdf","cozette.bdf"]',
            },
            {"path": "/customization/time_text/font_size", "message": "must be at most 16"},
            {
                "path": "/customization/time_text/text_color",
                "message": "must have at least 3 items",
            },
            {"path": "/display_duration", "message": "must be at most 300"},
            {"path": "/time_format", "message": 'must be one of ["12h","24h"]'},
            {"path": "/timezone", "message": "must be a string or null"},
            {"path": "/update_interval", "message": "must be at least 1"},
        ],
    }
    assert error.details is not None and error.details.startswith("/bogus: is not an allowed key; ")


async def test_hello_world_array_items_are_reported_by_index(store: Harness) -> None:
    config = {"message": "", "color": [0, 256, "x"], "time_color": [1, 2, 3, 4]}
    assert await errors_of(store, SavePluginConfig("hello-world", config)) == [
        {"path": "/color/1", "message": "must be at most 255"},
        {"path": "/color/2", "message": "must be an integer"},
        {"path": "/message", "message": "must be at least 1 characters long"},
        {"path": "/time_color", "message": "must have at most 3 items"},
    ]


async def test_scoreboards_nested_and_pattern_errors(store: Harness) -> None:
    baseball = {"mlb_favorite_teams": ["NYY", "nyy", "NYY"], "display_duration": 4}
    assert await errors_of(store, SavePluginConfig("baseball-scoreboard", baseball)) == [
        {"path": "/display_duration", "message": "must be at least 5"},
        {"path": "/mlb_favorite_teams", "message": "must not contain duplicate items"},
        {"path": "/mlb_favorite_teams/1", "message": "must match the pattern ^[A-Z]{2,3}$"},
    ]
    football = {"nfl": {"game_limits": {"recent_games_to_show": 0}, "enabled": "yes"}}
    assert await errors_of(store, SavePluginConfig("football-scoreboard", football)) == [
        {"path": "/nfl/enabled", "message": "must be a boolean"},
        {"path": "/nfl/game_limits/recent_games_to_show", "message": "must be at least 1"},
    ]


async def test_core_properties_are_always_allowed_and_never_required(store: Harness) -> None:
    core = {"live_priority": True, "skin": "dark", "skin_options": {"a": 1}}
    result = await store.ask(SavePluginConfig("hello-world", core))  # additionalProperties: false
    assert {k: result.data[k] for k in core} == core
    assert result.data["enabled"] is True  # `required: [enabled]` dropped, default filled in
    assert await errors_of(store, SavePluginConfig("hello-world", {"live_priority": "no"})) == [
        {"path": "/live_priority", "message": "must be a boolean"}
    ]


async def test_plugin_without_schema_checks_only_the_core_properties(store: Harness) -> None:
    result = await store.ask(SavePluginConfig("bare", {"anything": {"goes": [1]}}))
    assert result.data == {
        "anything": {"goes": [1]},
        "enabled": True,
        "display_duration": 15,
        "live_priority": False,
    }
    config = {"enabled": "yes", "display_duration": 0}
    assert await errors_of(store, SavePluginConfig("bare", config)) == [
        {"path": "/display_duration", "message": "must be at least 1"},
        {"path": "/enabled", "message": "must be a boolean"},
    ]
    schema = await store.ask(GetPluginSchema("bare"))
    assert sorted(schema["properties"]) == [
        "display_duration",
        "enabled",
        "live_priority",
        "skin",
        "skin_options",
    ]


async def test_read_shows_schema_defaults_and_the_schema_has_core_keys(store: Harness) -> None:
    await store.ask(SavePluginConfig("clock-simple", {"show_seconds": True}))
    view = (await store.ask(GetPluginConfig("clock-simple"))).data
    assert view["show_seconds"] is True
    assert view["time_format"] == "12h"
    assert view["customization"]["date_text"]["text_color"] == [255, 128, 64]
    stored = (store.paths.config_dir / "config.json").read_bytes()
    assert b"PressStart2P" not in stored  # defaults are filled on read, not written
    schema = await store.ask(GetPluginSchema("clock-simple"))
    assert schema["properties"]["skin_options"] == {"type": "object"}
    assert schema["required"] == []


async def test_broken_plugin_schema_is_a_load_error(store: Harness) -> None:
    (store.paths.plugins_dir / "bare" / "config_schema.json").write_text('{"type": 5}')
    error = await refused(store, SavePluginConfig("bare", {}))
    assert error.code is ErrorCode.CONFIG_LOAD_FAILED
    assert error.context == {"plugin_id": "bare"}


async def test_main_config_refuses_unknown_keys_and_deep_merges(store: Harness) -> None:
    body = {"display": {"hardware": {"brightness": 101}}, "foo": 1, "clock-simple": {}}
    assert await errors_of(store, SaveMainConfig(body)) == [
        {"path": "/clock-simple", "message": "is not an allowed key"},
        {"path": "/display/hardware/brightness", "message": "must be at most 100"},
        {"path": "/foo", "message": "is not an allowed key"},
    ]
    await store.ask(SaveMainConfig({"display": {"hardware": {"brightness": 40}}}))
    main = (await store.ask(GetMainConfig())).data
    assert main["display"]["hardware"]["brightness"] == 40
    assert main["display"]["hardware"]["rows"] == 32  # untouched siblings kept
    assert main["timezone"] == "UTC"
    await store.ask(SaveMainConfig({"timezone": None}))  # null falls back to the default
    assert (await store.ask(GetMainConfig())).data["timezone"] == "UTC"


async def test_schedule_rules(store: Harness) -> None:
    bad = {"enabled": True, "start_time": "24:00", "end_time": "7:00", "mode": "weekly"}
    assert await errors_of(store, SaveSchedule(bad)) == [
        {"path": "/end_time", "message": "must match the pattern ^([01][0-9]|2[0-3]):[0-5][0-9]$"},
        {"path": "/mode", "message": 'must be one of ["global","per-day"]'},
        {
            "path": "/start_time",
            "message": "must match the pattern ^([01][0-9]|2[0-3]):[0-5][0-9]$",
        },
    ]
    all_off = {"mode": "per-day", "days": {day: {"enabled": False} for day in WEEK}}
    assert await errors_of(store, SaveSchedule(all_off)) == [
        {"path": "/days", "message": "at least one day must be enabled in per-day mode"}
    ]
    overnight = {"enabled": True, "start_time": "22:30", "end_time": "06:15"}
    await store.ask(SaveSchedule(overnight))
    view = (await store.ask(GetSchedule())).data
    assert {k: view[k] for k in ("enabled", "mode", "start_time", "end_time")} == {
        "enabled": True,
        "mode": "global",
        "start_time": "22:30",
        "end_time": "06:15",
    }
    one_day = {"mode": "per-day", "days": {**all_off["days"], "friday": {"enabled": True}}}
    await store.ask(SaveSchedule(one_day))
    assert (await store.ask(GetSchedule())).data["days"]["friday"] == {"enabled": True}
    # the main config validates the schedule the same way
    assert await errors_of(store, SaveMainConfig({"dim_schedule": all_off})) == [
        {
            "path": "/dim_schedule/days",
            "message": "at least one day must be enabled in per-day mode",
        }
    ]
