"""With a token configured, every refusal is still the v3 envelope: 401, 403, 413 (JSON over
1 MiB, an archive over 50 MiB: nothing written anywhere under the data dir) and the parser's
400 for an over-long request line."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.web.plugin_env import RunningApi, make_env
from tests.web.raw_http import ask
from web.http import ARCHIVE_BODY_LIMIT, JSON_BODY_LIMIT

INSTALL, ARCHIVE = "/api/v3/plugins/install", "/api/v3/plugins/install-archive"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[RunningApi]:
    env = make_env(tmp_path)
    async with RunningApi(env.settings(token_file=str(tmp_path / "token"))) as running:
        yield running


def auth(api: RunningApi) -> dict[str, str]:
    assert api.settings.token_file is not None
    return {"Authorization": "Bearer " + Path(api.settings.token_file).read_text().strip()}


def data_dir_listing(api: RunningApi) -> dict[str, tuple[int, int]]:
    """Every file and folder under the data dir with its size and modification time."""
    root = api.settings.data_dir
    listing = {}
    for folder, names, files in os.walk(root):
        for name in [*names, *files]:
            info = os.lstat(os.path.join(folder, name))
            listing[os.path.relpath(os.path.join(folder, name), root)] = (
                info.st_size,
                info.st_mtime_ns,
            )
    return listing


async def chunks(total: int, size: int = 1024 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        yield b"\0" * piece
        sent += piece


def too_large(limit: int) -> dict[str, Any]:
    return {
        "status": "error",
        "error_code": "PAYLOAD_TOO_LARGE",
        "error_category": "system",
        "message": f"Request body is larger than the limit of {limit // 1024} KiB",
        "context": {"limit_bytes": limit},
    }


async def test_an_oversized_json_body_is_413_with_the_token_and_401_without(
    api: RunningApi,
) -> None:
    assert api.client is not None
    body = b"{" + b" " * JSON_BODY_LIMIT + b"}"
    headers = {**auth(api), "Content-Type": "application/json"}
    before = data_dir_listing(api)
    response = await api.client.post(INSTALL, data=io.BytesIO(body), headers=headers)
    assert (response.status, await response.json()) == (413, too_large(JSON_BODY_LIMIT))
    response = await api.client.post(INSTALL, data=chunks(len(body)), headers=headers)
    assert (response.status, await response.json()) == (413, too_large(JSON_BODY_LIMIT))
    response = await api.client.post(
        INSTALL, data=io.BytesIO(body), headers={"Content-Type": "x/y"}
    )
    assert response.status == 401
    assert (await response.json())["error_code"] == "UNAUTHORIZED"
    assert data_dir_listing(api) == before


async def test_an_oversized_archive_is_413_and_nothing_is_written(api: RunningApi) -> None:
    assert api.client is not None
    before = data_dir_listing(api)
    over = ARCHIVE_BODY_LIMIT + 1
    form = aiohttp.FormData()
    archive = io.BytesIO(b"PK\x03\x04" + b"\0" * over)
    form.add_field("archive", archive, filename="p.zip", content_type="application/zip")
    response = await api.client.post(ARCHIVE, data=form, headers=auth(api))
    assert response.status == 413
    body = await response.json()
    assert (body["status"], body["error_code"], body["error_category"]) == (
        "error",
        "PAYLOAD_TOO_LARGE",
        "system",
    )
    # Streamed with no Content-Length: refused while reading, all the same.
    boundary = "plugvisorboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="archive"; filename="p.zip"\r\n'
        "Content-Type: application/zip\r\n\r\n"
    ).encode()

    async def multipart() -> AsyncIterator[bytes]:
        yield head + b"PK\x03\x04"
        async for piece in chunks(over):
            yield piece
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {**auth(api), "Content-Type": f"multipart/form-data; boundary={boundary}"}
    response = await api.client.post(ARCHIVE, data=multipart(), headers=headers)
    assert response.status == 413
    assert (await response.json())["error_code"] == "PAYLOAD_TOO_LARGE"
    status, operations = 0, None
    response = await api.client.get("/api/v3/plugins/operations", headers=auth(api))
    status, operations = response.status, (await response.json())["data"]
    assert (status, operations) == (200, [])
    assert data_dir_listing(api) == before


async def test_an_oversized_request_line_is_enveloped_before_access(api: RunningApi) -> None:
    assert api.client is not None and api.client.server.port is not None
    raw = f"GET /api/v3/plugins/state?x={'a' * 9000} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    answer = await ask(api.client.server.port, raw.encode())
    assert answer is not None
    assert (answer.status, answer.json()) == (
        400,
        {
            "status": "error",
            "error_code": "INVALID_INPUT",
            "error_category": "validation",
            "message": "The request line or a header is too long",
            "context": {"limit_bytes": 8190},
        },
    )
