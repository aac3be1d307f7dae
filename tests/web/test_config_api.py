"""Configuration endpoints on a real aiohttp server: plugin config and schema, main, schedule."""

from __future__ import annotations

import re
import shutil
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from actors.system import System
from tests.conftest import FIXTURES

MASK = "\u2022" * 8
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
HELLO_DEFAULTS = {
    "enabled": True,
    "message": "Hello, World!",
    "show_time": True,
    "color": [255, 255, 255],
    "time_color": [0, 255, 255],
    "display_duration": 10,
    "live_priority": False,
}


@pytest.fixture(autouse=True)
def plugins(running_system: System) -> None:
    for name in ("hello-world", "weather", "clock-simple"):
        shutil.copytree(FIXTURES / name, running_system.paths.plugins_dir / name)


def config_json(system: System) -> dict[str, Any]:
    return orjson.loads((system.paths.config_dir / "config.json").read_bytes())


async def test_get_plugin_config_shows_defaults_with_an_etag(client: TestClient) -> None:
    response = await client.get("/api/v3/plugins/config", params={"plugin_id": "hello-world"})
    assert response.status == 200
    assert await response.json() == {"status": "success", "data": HELLO_DEFAULTS}
    assert response.headers["ETag"].startswith('"')


async def test_post_plugin_config_saves_and_answers_the_new_state(
    client: TestClient, running_system: System
) -> None:
    body = {"plugin_id": "hello-world", "config": {"message": "Hi", "color": [1, 2, 3]}}
    response = await client.post("/api/v3/plugins/config", json=body)
    assert response.status == 200
    payload = await response.json()
    backup_id = payload["data"]["backup_id"]
    assert payload == {
        "status": "success",
        "data": {
            "plugin_id": "hello-world",
            "config": {**HELLO_DEFAULTS, "message": "Hi", "color": [1, 2, 3]},
            "generation": 2,
            "backup_id": backup_id,
        },
        "message": "Plugin hello-world configuration saved successfully",
    }
    assert config_json(running_system)["hello-world"] == {"message": "Hi", "color": [1, 2, 3]}
    read = await client.get("/api/v3/plugins/config", params={"plugin_id": "hello-world"})
    assert response.headers["ETag"] == read.headers["ETag"]


async def test_validation_failure_lists_every_error(client: TestClient) -> None:
    body = {"plugin_id": "hello-world", "config": {"message": "", "color": [0, 300], "x": 1}}
    response = await client.post("/api/v3/plugins/config", json=body)
    assert response.status == 400
    assert await response.json() == {
        "status": "error",
        "error_code": "CONFIG_VALIDATION_FAILED",
        "error_category": "configuration",
        "message": "Configuration validation failed",
        "details": "/color: must have at least 3 items; /color/1: must be at most 255; "
        "/message: must be at least 1 characters long; /x: is not an allowed key",
        "context": {
            "plugin_id": "hello-world",
            "validation_errors": [
                {"path": "/color", "message": "must have at least 3 items"},
                {"path": "/color/1", "message": "must be at most 255"},
                {"path": "/message", "message": "must be at least 1 characters long"},
                {"path": "/x", "message": "is not an allowed key"},
            ],
        },
        "suggested_fixes": ["Correct the fields listed in context.validation_errors"],
    }


async def test_dry_run_validates_only(client: TestClient, running_system: System) -> None:
    before = config_json(running_system)
    body = {"plugin_id": "hello-world", "config": {"message": "Dry"}}
    response = await client.post("/api/v3/plugins/config?dry_run=true", json=body)
    assert response.status == 200
    assert await response.json() == {
        "status": "success",
        "data": {
            "plugin_id": "hello-world",
            "config": {**HELLO_DEFAULTS, "message": "Dry"},
            "valid": True,
            "dry_run": True,
        },
        "message": "Configuration is valid (not saved)",
    }
    assert config_json(running_system) == before


async def test_stale_if_match_is_412(client: TestClient) -> None:
    read = await client.get("/api/v3/plugins/config", params={"plugin_id": "clock-simple"})
    etag = read.headers["ETag"]
    body = {"plugin_id": "clock-simple", "config": {"show_date": False}}
    first = await client.post("/api/v3/plugins/config", json=body, headers={"If-Match": etag})
    assert first.status == 200
    second = await client.post("/api/v3/plugins/config", json=body, headers={"If-Match": etag})
    assert second.status == 412
    assert await second.json() == {
        "status": "error",
        "error_code": "CONFIG_CONFLICT",
        "error_category": "configuration",
        "message": "The configuration changed since it was read",
        "context": {"etag": first.headers["ETag"]},
        "suggested_fixes": ["Reload the configuration and apply your change again"],
    }


async def test_secrets_are_masked_and_kept_out_of_config_json(
    client: TestClient, running_system: System
) -> None:
    body = {"plugin_id": "weather", "config": {"api_key": "abc123", "enabled": True}}
    saved = await (await client.post("/api/v3/plugins/config", json=body)).json()
    assert saved["data"]["config"]["api_key"] == MASK
    read = await client.get("/api/v3/plugins/config", params={"plugin_id": "weather"})
    data = (await read.json())["data"]
    assert data["api_key"] == MASK
    assert b"abc123" not in (running_system.paths.config_dir / "config.json").read_bytes()
    # sending the read back (mask included) keeps the stored key; null clears it
    await client.post("/api/v3/plugins/config", json={"plugin_id": "weather", "config": data})
    secrets_path = running_system.paths.config_dir / "config_secrets.json"
    assert orjson.loads(secrets_path.read_bytes())["weather"] == {"api_key": "abc123"}
    clear = {"plugin_id": "weather", "config": {"api_key": None}}
    assert (await client.post("/api/v3/plugins/config", json=clear)).status == 200
    assert "weather" not in orjson.loads(secrets_path.read_bytes())


@pytest.mark.parametrize(
    ("request_args", "field"),
    [
        ({"data": b'{"plugin_id": "hello-world", '}, "body"),
        ({"json": ["hello-world"]}, "body"),
        ({"json": {"config": {}}}, "plugin_id"),
        ({"json": {"plugin_id": 7, "config": {}}}, "plugin_id"),
        ({"json": {"plugin_id": "../../etc", "config": {}}}, "plugin_id"),
        ({"json": {"plugin_id": "display", "config": {}}}, "plugin_id"),
        ({"json": {"plugin_id": "hello-world"}}, "config"),
        ({"json": {"plugin_id": "hello-world", "config": "enabled"}}, "config"),
    ],
)
async def test_bad_requests_are_invalid_input(
    client: TestClient, running_system: System, request_args: dict[str, Any], field: str
) -> None:
    before = config_json(running_system)
    response = await client.post("/api/v3/plugins/config", **request_args)
    assert response.status == 400
    body = await response.json()
    assert (body["error_code"], body["error_category"]) == ("INVALID_INPUT", "validation")
    assert body["context"]["field"] == field
    assert config_json(running_system) == before


async def test_get_with_bad_or_unknown_plugin_id(client: TestClient) -> None:
    for path in ("/api/v3/plugins/config", "/api/v3/plugins/schema"):
        missing = await client.get(path)
        assert missing.status == 400
        assert await missing.json() == {
            "status": "error",
            "error_code": "INVALID_INPUT",
            "error_category": "validation",
            "message": "Missing required query parameter 'plugin_id'",
            "context": {"field": "plugin_id"},
        }
        traversal = await client.get(path, params={"plugin_id": "../config"})
        assert traversal.status == 400
        assert (await traversal.json())["context"] == {"field": "plugin_id"}
        unknown = await client.get(path, params={"plugin_id": "nope"})
        assert unknown.status == 404
        assert await unknown.json() == {
            "status": "error",
            "error_code": "PLUGIN_NOT_FOUND",
            "error_category": "plugin",
            "message": "Plugin 'nope' is not installed",
            "context": {"plugin_id": "nope"},
            "suggested_fixes": ["Check the plugin id", "Refresh the list of installed plugins"],
        }
    post = await client.post("/api/v3/plugins/config", json={"plugin_id": "nope", "config": {}})
    assert post.status == 404


async def test_get_plugin_schema(client: TestClient) -> None:
    response = await client.get("/api/v3/plugins/schema", params={"plugin_id": "hello-world"})
    assert response.status == 200
    fixture = orjson.loads((FIXTURES / "hello-world" / "config_schema.json").read_bytes())
    # The core properties the plugin lacks are added (its own display_duration wins), and
    # none of them is required.
    core = {
        "live_priority": {"type": "boolean", "default": False},
        "skin": {"type": ["string", "object", "null"]},
        "skin_options": {"type": "object"},
    }
    assert await response.json() == {
        "status": "success",
        "data": {**fixture, "properties": {**fixture["properties"], **core}, "required": []},
    }


async def test_main_config_round_trip(client: TestClient, running_system: System) -> None:
    read = await client.get("/api/v3/config/main")
    assert read.status == 200
    main = (await read.json())["data"]
    assert sorted(main) == [
        "dim_schedule",
        "display",
        "location",
        "logging",
        "plugin_system",
        "schedule",
        "timezone",
    ]
    body = {"timezone": "Europe/Paris", "plugin_system": {"github_token": "ghp_x"}}
    response = await client.post(
        "/api/v3/config/main", json=body, headers={"If-Match": read.headers["ETag"]}
    )
    assert response.status == 200
    payload = await response.json()
    backup_id = payload["data"]["backup_id"]
    assert re.fullmatch(r"\d+-1", backup_id)  # generation 1 was set aside
    assert payload == {
        "status": "success",
        "data": {
            "config": {  # deep merged: every other key kept as it was
                **main,
                "timezone": "Europe/Paris",
                "plugin_system": {**main["plugin_system"], "github_token": MASK},
            },
            "generation": 2,
            "backup_id": backup_id,
        },
        "message": "Configuration saved successfully",
    }
    assert b"ghp_x" not in (running_system.paths.config_dir / "config.json").read_bytes()
    again = await (await client.get("/api/v3/config/main")).json()
    assert again["data"]["plugin_system"]["github_token"] == MASK


async def test_main_config_unknown_key_is_refused_even_as_null(client: TestClient) -> None:
    """Found by the fuzzer: ``{"": null}`` was saved (200) since the merge dropped the null."""
    body = {"": None, "hello-world": None, "timezone": 3}
    response = await client.post("/api/v3/config/main", json=body)
    assert response.status == 400
    answer = await response.json()
    assert answer["error_code"] == "CONFIG_VALIDATION_FAILED"
    assert answer["context"]["validation_errors"] == [
        {"path": "/", "message": "is not an allowed key"},
        {"path": "/hello-world", "message": "is not an allowed key"},
        {"path": "/timezone", "message": "must be a string"},
    ]
    response = await client.post("/api/v3/config/main", json={"timezone": None})
    assert response.status == 200  # a system key sent as null still falls back to its default


async def test_main_config_unknown_key_is_refused(client: TestClient) -> None:
    response = await client.post("/api/v3/config/main", json={"hello-world": {}, "timezone": 3})
    assert response.status == 400
    assert await response.json() == {
        "status": "error",
        "error_code": "CONFIG_VALIDATION_FAILED",
        "error_category": "configuration",
        "message": "Configuration validation failed",
        "details": "/hello-world: is not an allowed key; /timezone: must be a string",
        "context": {
            "validation_errors": [
                {"path": "/hello-world", "message": "is not an allowed key"},
                {"path": "/timezone", "message": "must be a string"},
            ]
        },
        "suggested_fixes": ["Correct the fields listed in context.validation_errors"],
    }


async def test_schedule_round_trip_and_errors(client: TestClient) -> None:
    read = await client.get("/api/v3/config/schedule")
    assert read.status == 200
    every_day = {day: {"enabled": True} for day in DAYS}
    assert await read.json() == {
        "status": "success",
        "data": {
            "enabled": False,
            "mode": "global",
            "start_time": "07:00",
            "end_time": "23:00",
            "days": every_day,
        },
    }
    body = {
        "enabled": True,
        "mode": "per-day",
        "start_time": "22:00",
        "end_time": "06:00",
        "days": {"monday": {"enabled": False}, "tuesday": {"enabled": True, "start_time": "09:30"}},
    }
    saved = await client.post("/api/v3/config/schedule", json=body)
    assert saved.status == 200
    payload = await saved.json()
    backup_id = payload["data"]["backup_id"]
    assert re.fullmatch(r"\d+-1", backup_id)
    assert payload == {
        "status": "success",
        "data": {
            "schedule": {**body, "days": {**every_day, **body["days"]}},  # missing days: defaults
            "generation": 2,
            "backup_id": backup_id,
        },
        "message": "Schedule configuration saved successfully",
    }
    wrong_type = await client.post("/api/v3/config/schedule", json={**body, "enabled": "true"})
    assert wrong_type.status == 400
    assert await wrong_type.json() == {
        "status": "error",
        "error_code": "INVALID_INPUT",
        "error_category": "validation",
        "message": "Field 'enabled' must be a boolean (true or false)",
        "context": {"field": "enabled"},
    }
    whole = {"enabled": True, "mode": "global", "start_time": "7:5", "end_time": "23:00"}
    bad_time = await client.post("/api/v3/config/schedule", json=whole)
    assert bad_time.status == 400
    pattern = "must match the pattern ^([01][0-9]|2[0-3]):[0-5][0-9]$"
    assert await bad_time.json() == {
        "status": "error",
        "error_code": "CONFIG_VALIDATION_FAILED",
        "error_category": "configuration",
        "message": "Configuration validation failed",
        "details": f"/start_time: {pattern}",
        "context": {"validation_errors": [{"path": "/start_time", "message": pattern}]},
        "suggested_fixes": ["Correct the fields listed in context.validation_errors"],
    }
