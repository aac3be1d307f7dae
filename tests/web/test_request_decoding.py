"""Hostile request shapes on a real server: a body in a declared charset, a malformed cursor."""

from __future__ import annotations

import shutil
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from actors.system import System
from tests.conftest import FIXTURES

CONFIG = "/api/v3/plugins/config"
HISTORY = "/api/v3/plugins/operation/history"
GREETING = "Grüße, €uro"  # € is not in latin-1: used only with the UTF encodings
BEFORE = "Query parameter 'before' must be an operation id (32 hex digits) or an ISO 8601 time"


@pytest.fixture(autouse=True)
def plugins(running_system: System) -> None:
    shutil.copytree(FIXTURES / "hello-world", running_system.paths.plugins_dir / "hello-world")


def invalid(field: str, message: str) -> dict[str, Any]:
    return {
        "status": "error",
        "error_code": "INVALID_INPUT",
        "error_category": "validation",
        "message": message,
        "context": {"field": field},
    }


async def post_raw(client: TestClient, body: bytes, content_type: str) -> tuple[int, Any]:
    response = await client.post(CONFIG, data=body, headers={"Content-Type": content_type})
    return response.status, await response.json()


def hello(message: str) -> str:
    return orjson.dumps({"plugin_id": "hello-world", "config": {"message": message}}).decode()


@pytest.mark.parametrize(
    ("charset", "message"),
    [
        ("latin-1", "Grüße"),
        ("ISO-8859-1", "Grüße"),
        ("utf-8", GREETING),
        ("UTF-16", GREETING),
        ("utf-16le", GREETING),
        ("utf-16-be", GREETING),
        ("utf-32", GREETING),
        ("utf-32le", GREETING),
        ("us-ascii", "Hi"),
    ],
)
async def test_a_body_is_decoded_by_its_declared_charset(
    client: TestClient, charset: str, message: str
) -> None:
    body = hello(message).encode(charset)
    status, answer = await post_raw(client, body, f"application/json; charset={charset}")
    assert status == 200, answer
    assert answer["data"]["config"]["message"] == message
    read = await client.get(CONFIG, params={"plugin_id": "hello-world"})
    assert (await read.json())["data"]["message"] == message


async def test_latin1_is_not_read_as_utf8(client: TestClient) -> None:
    # "Ã©" in latin-1 is the UTF-8 encoding of "é": read as UTF-8 it would become "é"
    body = hello("Ã©").encode("latin-1")
    status, answer = await post_raw(client, body, "application/json; charset=latin-1")
    assert status == 200, answer
    assert answer["data"]["config"]["message"] == "Ã©"


@pytest.mark.parametrize("charset", ["utf-7", "rot13", "base64", "klingon", "cp1252", '""'])
async def test_an_unsupported_charset_is_refused_by_name(client: TestClient, charset: str) -> None:
    status, answer = await post_raw(
        client, hello("Hi").encode(), f"application/json; charset={charset}"
    )
    shown = charset.strip('"')
    assert (status, answer) == (
        400,
        invalid(
            "Content-Type",
            f"Unsupported charset '{shown}' in Content-Type; send the body as UTF-8, UTF-16,"
            " UTF-32 or ISO-8859-1",
        ),
    )


async def test_a_body_that_is_not_in_its_declared_charset(client: TestClient) -> None:
    body = hello("Grüße").encode("utf-8")[:-1]  # an odd length cannot be UTF-16
    status, answer = await post_raw(client, body, "application/json; charset=utf-16-le")
    assert (status, answer) == (400, invalid("body", "Request body is not valid utf-16-le text"))
    status, answer = await post_raw(client, b'{"a": "\xff"}', "application/json; charset=ascii")
    assert (status, answer) == (400, invalid("body", "Request body is not valid ascii text"))


@pytest.mark.parametrize(
    "before",
    ["zzz", "op-1", "a" * 31, "a" * 33, "g" * 32, "2026-13-45", "2026-01-01T25:00Z", "1e5"],
)
async def test_a_before_that_is_neither_an_id_nor_a_time(client: TestClient, before: str) -> None:
    response = await client.get(HISTORY, params={"before": before})
    assert (response.status, await response.json()) == (400, invalid("before", BEFORE))


async def test_before_pages_by_operation_id_or_time(client: TestClient) -> None:
    for message in ("one", "two", "three"):
        saved = await client.post(
            CONFIG, json={"plugin_id": "hello-world", "config": {"message": message}}
        )
        assert saved.status == 200
    response = await client.get(HISTORY)
    records = (await response.json())["data"]
    assert [r["operation_type"] for r in records] == ["configure"] * 3
    newest, middle, oldest = records
    by_id = await client.get(HISTORY, params={"before": newest["operation_id"].upper()})
    assert (await by_id.json())["data"] == [middle, oldest]
    by_time = await client.get(HISTORY, params={"before": middle["timestamp"]})
    older = [r for r in records if r["timestamp"] < middle["timestamp"]]
    assert (await by_time.json())["data"] == older
    unknown = await client.get(HISTORY, params={"before": "0" * 32})  # pruned or never existed
    assert (unknown.status, (await unknown.json())["data"]) == (200, [])
