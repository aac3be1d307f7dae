"""No secret reaches the log: run.py as a process, with a token, saves an ``x-secret`` setting,
installs from a URL with credentials, is asked with and without the token and has the token
rotated; then its whole stderr (JSON lines, and the console format) is searched for each."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.polling import wait_until
from tests.supervisor_process import REPO_ROOT, free_port, plugvisor_command, start_serving
from tests.web.plugin_env import make_env
from tests.web.secret_plugin import add_vault

SECRET_SETTING = "vault-Secret-3e9a1c77"
URL_PASSWORD = "url-Pass-5d0b2f"
QUERY_TOKEN = "query-Tok-81c4aa"
WRONG_TOKEN = "wrong-Token-0123456789abcdef"


@pytest.mark.parametrize("log_format", ["json", "console"])
async def test_no_secret_or_token_in_any_log_line(tmp_path: Path, log_format: str) -> None:
    env = make_env(tmp_path)
    add_vault(env)
    port = free_port()
    token_file = tmp_path / "auth" / "token"
    command = plugvisor_command(port, tmp_path / "data", env.registry_path)
    command += ["--log-format", log_format, "--token-file", str(token_file), "--pip-no-index"]
    log_path = tmp_path / "stderr.log"
    with log_path.open("wb") as stderr:
        process = await start_serving(command, stderr=stderr)
        try:
            created = await asyncio.wait_for(process.stdout.readline(), 10)
            assert created.decode().strip() == f"API token created in {token_file} (mode 0600)"
            token = token_file.read_text().strip()
            new_token = await _exercise(port, token, token_file, tmp_path, process.pid)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                assert await process.wait() == 0
    log = log_path.read_text(encoding="utf-8", errors="replace")
    # The run was logged (so the search below searched something) ...
    for event in ("api_token_created", "api_token_refused", "api_token_rotated", "stopped"):
        assert event in log, event
    assert "127.0.0.1" in log
    # ... and none of these is in it.
    for secret in (token, new_token, WRONG_TOKEN, SECRET_SETTING, URL_PASSWORD, QUERY_TOKEN):
        assert secret not in log, secret


async def _exercise(port: int, token: str, token_file: Path, root: Path, pid: int) -> str:
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base) as http:
        async with http.get("/api/v3/plugins/installed") as response:
            assert response.status == 401
        for _ in range(3):
            headers = {"Authorization": f"Bearer {WRONG_TOKEN}"}
            async with http.get("/api/v3/plugins/installed", headers=headers) as response:
                assert response.status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError):  # logged with its target, masked
            await http.ws_connect(f"/api/v3/ws?token={WRONG_TOKEN}")
        install = {"plugin_id": "vault"}
        async with http.post(
            "/api/v3/plugins/install?wait=true", json=install, headers=auth
        ) as response:
            assert response.status == 200, await response.text()
        body = {"plugin_id": "vault", "config": {"token": SECRET_SETTING, "label": "x"}}
        async with http.post("/api/v3/plugins/config", json=body, headers=auth) as response:
            assert response.status == 200, await response.text()
        # A secret that fails validation (a number where a string goes) is not logged either.
        bad = {"plugin_id": "vault", "config": {"token": SECRET_SETTING, "label": 5}}
        async with http.post("/api/v3/plugins/config", json=bad, headers=auth) as response:
            assert response.status == 400
        dead = free_port()  # nothing listens: the download fails and is logged
        url = f"http://user:{URL_PASSWORD}@127.0.0.1:{dead}/p.zip?access_token={QUERY_TOKEN}"
        async with http.post(
            "/api/v3/plugins/install-from-url?wait=true",
            json={"repo_url": url, "plugin_id": "fromurl"},
            headers=auth,
        ) as response:
            assert response.status >= 400
        async with http.ws_connect(f"/api/v3/ws?token={token}") as ws:
            assert (await ws.receive_json(timeout=10))["type"] == "snapshot"

        rotated = subprocess.run(
            [
                *(sys.executable, str(REPO_ROOT / "run.py"), "rotate-token"),
                *("--data-dir", str(root / "data"), "--token-file", str(token_file)),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        assert rotated.stdout.strip() == (
            f"New API token written to {token_file} (mode 0600); read it from there."
        )
        new_token = token_file.read_text().strip()
        os.kill(pid, signal.SIGHUP)

        async def switched() -> bool:
            headers = {"Authorization": f"Bearer {new_token}"}
            async with http.get("/api/v3/plugins/installed", headers=headers) as response:
                return response.status == 200

        await wait_until(switched, what="the rotated token", timeout=10)
        async with http.get("/api/v3/plugins/installed", headers=auth) as response:
            assert response.status == 401
    return new_token
