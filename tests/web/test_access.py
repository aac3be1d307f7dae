"""API access over a real server: the token (header, and ?token= on the WebSocket), the open
paths, same-origin writes, loopback host names without a token, the wrong-token limit, rotation,
and the history's user."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from actors.access import ReloadToken, rotate_token
from tests.polling import wait_until
from tests.web.plugin_env import PluginEnv, RunningApi, make_env
from web.auth_limits import FailureLimiter

INSTALLED = "/api/v3/plugins/installed"
TOGGLE = "/api/v3/plugins/toggle"
WS = "/api/v3/ws"
CHALLENGE = 'Bearer realm="plugvisor"'


def refusal(code: str, message: str, path: str, **context: Any) -> dict[str, Any]:
    return {
        "status": "error",
        "error_code": code,
        "error_category": "permission",
        "message": message,
        "context": {"path": path, **context},
    }


REQUIRED = "An API token is required (Authorization: Bearer <token>)"
NOT_VALID = "The API token is not valid"
CROSS_SITE = "Requests from another site's page are refused"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def env(tmp_path: Path) -> PluginEnv:
    return make_env(tmp_path)


@pytest.fixture
async def api(env: PluginEnv) -> AsyncIterator[RunningApi]:
    settings = env.settings(token_file=str(env.root / "secret" / "token"))
    async with RunningApi(settings) as running:
        yield running


def token_of(api: RunningApi) -> str:
    assert api.settings.token_file is not None
    return Path(api.settings.token_file).read_text().strip()


async def status_and_body(response: aiohttp.ClientResponse) -> tuple[int, Any]:
    return response.status, await response.json()


async def test_a_named_token_file_is_created_0600_and_required(api: RunningApi) -> None:
    assert api.client is not None and api.settings.token_file is not None
    path = Path(api.settings.token_file)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    token = token_of(api)
    assert len(token) >= 40

    response = await api.client.get(INSTALLED)
    assert await status_and_body(response) == (401, refusal("UNAUTHORIZED", REQUIRED, INSTALLED))
    assert response.headers["WWW-Authenticate"] == CHALLENGE
    response = await api.client.get(INSTALLED, headers=bearer(token + "x"))
    assert await status_and_body(response) == (401, refusal("UNAUTHORIZED", NOT_VALID, INSTALLED))
    response = await api.client.get(INSTALLED, headers={"Authorization": f"Basic {token}"})
    assert response.status == 401
    response = await api.client.get(INSTALLED, headers=bearer(token))
    assert response.status == 200
    assert (await response.json())["status"] == "success"
    # ?token= is for the WebSocket only; an unknown API path is 401, not a 404 to explore.
    response = await api.client.get(f"{INSTALLED}?token={token}")
    assert response.status == 401
    response = await api.client.get("/api/v3/no-such-thing")
    assert response.status == 401


async def test_healthz_and_paths_outside_the_api_need_no_token(api: RunningApi) -> None:
    assert api.client is not None
    response = await api.client.get("/healthz")
    assert (response.status, await response.text()) == (200, "ok")
    response = await api.client.get("/not-the-api")  # open (the dashboard lives out here)
    assert response.status == 404
    assert (await response.json())["error_code"] == "NOT_FOUND"


async def test_the_websocket_needs_the_token_in_the_query_or_the_header(api: RunningApi) -> None:
    assert api.client is not None
    token = token_of(api)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await api.client.ws_connect(WS)
    assert refused.value.status == 401
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await api.client.ws_connect(f"{WS}?token=wrong-{token}")
    assert refused.value.status == 401
    for options in ({"path": f"{WS}?token={token}"}, {"path": WS, "headers": bearer(token)}):
        ws = await api.client.ws_connect(options.pop("path"), **options)
        try:
            first = await ws.receive_json(timeout=10)
            assert first["type"] == "snapshot"
        finally:
            await ws.close()


async def test_a_cross_origin_write_or_handshake_is_403(api: RunningApi) -> None:
    assert api.client is not None
    token = token_of(api)
    own = f"http://127.0.0.1:{api.client.server.port}"
    for origin in ("http://evil.example", "null", f"https://127.0.0.1:{api.client.server.port}"):
        headers = {**bearer(token), "Origin": origin}
        response = await api.client.post(TOGGLE, json={"plugin_id": "clock"}, headers=headers)
        assert await status_and_body(response) == (
            403,
            refusal("FORBIDDEN", CROSS_SITE, TOGGLE),
        ), origin
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await api.client.ws_connect(f"{WS}?token={token}", headers={"Origin": origin})
        assert refused.value.status == 403
    # A read from another origin is the browser's business (it cannot read the answer).
    response = await api.client.get(INSTALLED, headers={**bearer(token), "Origin": "http://x.y"})
    assert response.status == 200
    # The server's own origin writes: here a validation error, past access.
    headers = {**bearer(token), "Origin": own}
    response = await api.client.post(TOGGLE, json={"plugin_id": "clock"}, headers=headers)
    assert response.status == 400


async def test_without_a_token_loopback_is_open_and_foreign_writes_still_refused(
    env: PluginEnv,
) -> None:
    async with RunningApi(env.settings()) as api:
        assert api.client is not None
        assert not (env.root / "data" / "auth").exists()  # loopback: nothing created
        response = await api.client.get(INSTALLED)
        assert response.status == 200
        for host in ("localhost:5050", "127.0.0.2", "[::1]:80"):
            response = await api.client.get(INSTALLED, headers={"Host": host})
            assert response.status == 200, host
        # A DNS-rebinding page reaches 127.0.0.1 under its own name: refused without a token.
        response = await api.client.get(INSTALLED, headers={"Host": "attacker.example:5050"})
        assert response.status == 403
        assert (await response.json())["error_code"] == "FORBIDDEN"
        response = await api.client.post(
            TOGGLE, json={"plugin_id": "clock"}, headers={"Origin": "http://evil.example"}
        )
        assert await status_and_body(response) == (
            403,
            refusal("FORBIDDEN", CROSS_SITE, TOGGLE),
        )


async def test_an_exposed_bind_creates_the_token_in_the_data_dir(env: PluginEnv) -> None:
    # Settings.host decides; the test server itself still binds 127.0.0.1.
    async with RunningApi(env.settings(host="0.0.0.0")) as api:
        assert api.client is not None and api.system is not None
        path = env.root / "data" / "auth" / "token"
        assert api.system.access.created == path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        token = path.read_text().strip()
        assert (await api.client.get(INSTALLED)).status == 401
        assert (await api.client.get(INSTALLED, headers=bearer(token))).status == 200
    # The next start finds it: the same token, nothing created.
    async with RunningApi(env.settings(host="0.0.0.0")) as api:
        assert api.client is not None and api.system is not None
        assert api.system.access.created is None
        assert (await api.client.get(INSTALLED, headers=bearer(token))).status == 200


async def test_wrong_tokens_from_one_address_are_limited(env: PluginEnv) -> None:
    settings = env.settings(token_file=str(env.root / "token"))
    limiter = FailureLimiter(max_failures=3, window_s=600.0, lockout_s=600.0)
    async with RunningApi(settings, limiter=limiter) as api:
        assert api.client is not None
        token = token_of(api)
        for _ in range(2):
            response = await api.client.get(INSTALLED, headers=bearer("wrong-token-0000000"))
            assert (response.status, "Retry-After" in response.headers) == (401, False)
        response = await api.client.get(INSTALLED, headers=bearer("wrong-token-0000000"))
        assert response.status == 401
        assert response.headers["Retry-After"] == "600"
        message = "Too many wrong API tokens from this address; try again later"
        expected = refusal("UNAUTHORIZED", message, INSTALLED, retry_after_s=600)
        assert await response.json() == expected
        # Locked out: even the right token waits, so guessing cannot go on.
        response = await api.client.get(INSTALLED, headers=bearer(token))
        assert response.status == 401
        assert int(response.headers["Retry-After"]) > 0
        assert (await api.client.get("/healthz")).status == 200


async def test_a_rotated_token_replaces_the_old_one(env: PluginEnv) -> None:
    settings = env.settings(host="0.0.0.0", token_check_interval_s=0.05)
    async with RunningApi(settings) as api:
        assert api.client is not None and api.system is not None
        old = (env.root / "data" / "auth" / "token").read_text().strip()
        assert (await api.client.get(INSTALLED, headers=bearer(old))).status == 200

        path = rotate_token(env.root / "data", None)  # what `run.py rotate-token` does
        assert path == env.root / "data" / "auth" / "token"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        new = path.read_text().strip()
        assert new != old

        async def switched() -> bool:
            old_status = (await api.client.get(INSTALLED, headers=bearer(old))).status
            new_status = (await api.client.get(INSTALLED, headers=bearer(new))).status
            return (old_status, new_status) == (401, 200)

        await wait_until(switched, what="the rotated token to be in force", timeout=10)
        # An unusable file later keeps the last good token (never opens the API)...
        path.write_text("short\n")
        assert await api.system.access_keeper.ask(ReloadToken(), timeout=5) == "token"
        assert (await api.client.get(INSTALLED)).status == 401
        assert (await api.client.get(INSTALLED, headers=bearer(new))).status == 200
        # ... and so does a deleted one.
        path.unlink()
        assert await api.system.access_keeper.ask(ReloadToken(), timeout=5) == "token"
        assert (await api.client.get(INSTALLED, headers=bearer(new))).status == 200


async def test_an_unusable_token_file_at_start_locks_the_api(env: PluginEnv) -> None:
    named = env.root / "token"
    named.write_text("")
    async with RunningApi(env.settings(token_file=str(named))) as api:
        assert api.client is not None and api.system is not None
        response = await api.client.get(INSTALLED)
        assert response.status == 401
        message = "The API token file cannot be used; the API is locked until it is fixed"
        assert await response.json() == refusal("UNAUTHORIZED", message, INSTALLED)
        response = await api.client.get("/api/v3/supervisor/health", headers=bearer("x" * 20))
        assert response.status == 401
        named.write_text("a-good-token-of-enough-length\n")
        assert await api.system.access_keeper.ask(ReloadToken(), timeout=5) == "token"
        headers = bearer("a-good-token-of-enough-length")
        response = await api.client.get(INSTALLED, headers=headers)
        assert response.status == 200


async def test_the_history_records_token_or_local_never_the_token(env: PluginEnv) -> None:
    async with RunningApi(env.settings(token_file=str(env.root / "token"))) as api:
        assert api.client is not None
        token = token_of(api)
        auth = bearer(token)
        response = await api.client.post(
            "/api/v3/plugins/install?wait=true", json={"plugin_id": "clock"}, headers=auth
        )
        assert response.status == 200, await response.text()
        response = await api.client.post(
            TOGGLE, json={"plugin_id": "clock", "enabled": False}, headers=auth
        )
        assert response.status == 200
        response = await api.client.get("/api/v3/plugins/operation/history", headers=auth)
        records = (await response.json())["data"]
        assert {(r["operation_type"], r["user"]) for r in records} >= {
            ("install", "token"),
            ("disable", "token"),
        }
        assert token not in await response.text()
    async with RunningApi(env.settings()) as api:  # the same data, loopback, no token named
        assert api.client is not None
        # The token file named before is not the default one: this start is open.
        response = await api.client.post(TOGGLE, json={"plugin_id": "clock", "enabled": True})
        assert response.status == 200
        response = await api.client.get("/api/v3/plugins/operation/history?limit=1")
        [record] = (await response.json())["data"]
        assert (record["operation_type"], record["user"]) == ("enable", "local")


def test_the_token_file_mode_survives_a_loose_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        path = rotate_token(tmp_path / "data", None)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


async def test_the_main_configs_token_file_is_used_once_reloaded(env: PluginEnv) -> None:
    """``auth.token_file`` in the main config names the token file (no --token-file given)."""
    named = env.root / "named-token"
    token = "a-token-named-by-the-config-0123456789"
    named.write_text(token + "\n")
    named.chmod(0o600)
    async with RunningApi(env.settings()) as api:
        assert api.client is not None and api.system is not None
        assert (await api.client.get(INSTALLED)).status == 200  # no token yet: loopback, open
        response = await api.client.post(
            "/api/v3/config/main", json={"auth": {"token_file": str(named)}}
        )
        assert response.status == 200, await response.text()
        assert await api.system.access_keeper.ask(ReloadToken(), timeout=5) == "token"
        assert (await api.client.get(INSTALLED)).status == 401
        assert (await api.client.get(INSTALLED, headers=bearer(token))).status == 200
