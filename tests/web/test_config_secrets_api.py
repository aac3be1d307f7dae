"""x-secret under combinators, additional/pattern properties and $ref, over a real server:
never in config.json, never answered unmasked, never in events, history or logs."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from actors.events import Event
from actors.system import System
from tests.actors.config_store.hostile_schema import (
    CLEAR_PART,
    HOSTILE_SCHEMA,
    MASK,
    MASKED,
    SECRET,
    SECRET_PART,
    SECTION,
    secret,
)

CONFIG = "/api/v3/plugins/config"
CORE = {"enabled": True, "display_duration": 15, "live_priority": False}


@pytest.fixture(autouse=True)
def hostile(running_system: System) -> None:
    folder = running_system.paths.plugins_dir / "hostile"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_bytes(orjson.dumps({"id": "hostile", "name": "Hostile"}))
    (folder / "config_schema.json").write_bytes(orjson.dumps(HOSTILE_SCHEMA))


def stored_secrets(system: System) -> dict[str, Any]:
    return orjson.loads((system.paths.config_dir / "config_secrets.json").read_bytes())["hostile"]


def files_without_secrets(system: System) -> list[Path]:
    """Every file under the data dir but the secrets file and its backup twins."""
    return [
        path
        for path in system.paths.root.rglob("*")
        if path.is_file() and not path.name.endswith("secrets.json")
    ]


async def post(client: TestClient, config: dict[str, Any], query: str = "") -> tuple[int, Any]:
    response = await client.post(
        f"{CONFIG}{query}", json={"plugin_id": "hostile", "config": config}
    )
    return response.status, await response.json()


async def test_combinator_secrets_are_stored_apart_masked_kept_and_cleared(
    client: TestClient, running_system: System, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    events: list[Event] = []
    running_system.bus.subscribe(events.append)
    answers: list[Any] = []
    with capture_logs() as logs:
        status, saved = await post(client, copy.deepcopy(SECTION))
        assert status == 200, saved
        answers.append(saved)
        assert saved["data"]["config"] == {**MASKED, **CORE}
        assert stored_secrets(running_system) == SECRET_PART
        config = orjson.loads((running_system.paths.config_dir / "config.json").read_bytes())
        assert config["hostile"] == CLEAR_PART

        read = await client.get(CONFIG, params={"plugin_id": "hostile"})
        shown = await read.json()
        answers += [shown, read.headers["ETag"]]
        assert shown == {"status": "success", "data": {**MASKED, **CORE}}

        status, dry = await post(client, copy.deepcopy(SECTION), "?dry_run=true")
        answers.append(dry)
        assert (status, dry["data"]["config"]) == (200, {**MASKED, **CORE})

        # a read sent back keeps every secret, whatever declared it
        status, again = await post(client, {**shown["data"], "label": "edited"})
        answers.append(again)
        assert status == 200 and again["data"]["config"]["label"] == "edited"
        assert stored_secrets(running_system) == SECRET_PART

        # null clears: an additionalProperties entry, an anyOf value, a secret tuple list
        status, cleared = await post(
            client, {"tokens": {"gitlab": None}, "any": None, "pair": None}
        )
        answers.append(cleared)
        assert status == 200
        expected = {k: v for k, v in SECRET_PART.items() if k not in ("any", "pair")}
        assert stored_secrets(running_system) == {**expected, "tokens": {"github": secret(4)}}
        view = cleared["data"]["config"]
        assert "any" not in view and "pair" not in view
        assert view["tokens"] == {"github": MASK}

        # a refused save does not echo the secret it carried
        status, refused = await post(client, {"one": [SECRET], "tokens": {"x": 5}})
        answers.append(refused)
        assert (status, refused["error_code"]) == (400, "CONFIG_VALIDATION_FAILED")

    assert logs and events
    for path in files_without_secrets(running_system):
        assert SECRET.encode() not in path.read_bytes(), path.name
    assert SECRET not in repr(answers)
    assert SECRET not in repr([event.data for event in events])
    assert SECRET not in repr(logs) + caplog.text
    history = await client.get("/api/v3/plugins/operation/history")
    records = (await history.json())["data"]
    assert [r["operation_type"] for r in records] == ["configure"] * 4
    assert SECRET not in repr(records)
