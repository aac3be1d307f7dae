"""run.py as a real subprocess: serves, answers in the envelope, tells systemd, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path

import aiohttp
import pytest

from tests.supervisor_process import free_port, plugvisor_command


async def read_datagrams(sock: socket.socket, until: bytes, timeout: float) -> list[bytes]:
    loop = asyncio.get_running_loop()
    seen: list[bytes] = []
    async with asyncio.timeout(timeout):
        while until not in b"\n".join(seen):
            seen.append(await loop.sock_recv(sock, 4096))
    return seen


@pytest.fixture
def notify_socket(tmp_path: Path):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    yield path, sock
    sock.close()


async def start_plugvisor(tmp_path: Path, port: int, env: dict[str, str]):
    registry = tmp_path / "registry.json"
    registry.write_text('{"plugins": []}')
    return await asyncio.create_subprocess_exec(
        *plugvisor_command(port, tmp_path / "data", registry),
        cwd=str(tmp_path),
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_run_serves_enveloped_api_and_stops_cleanly_on_sigterm(
    tmp_path: Path, notify_socket
) -> None:
    socket_path, sock = notify_socket
    port = free_port()
    process = await start_plugvisor(tmp_path, port, {"NOTIFY_SOCKET": str(socket_path)})
    try:
        async with asyncio.timeout(30):
            line = await process.stdout.readline()
        assert f"serving on http://127.0.0.1:{port}/" in line.decode()

        ready = await read_datagrams(sock, b"READY=1", timeout=10)
        assert any(b"READY=1" in datagram for datagram in ready)

        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == 200
                assert await response.text() == "ok"
            async with session.get(f"http://127.0.0.1:{port}/api/v3/unknown") as response:
                assert response.status == 404
                body = await response.json()
                assert body["status"] == "error"
                assert body["error_code"] == "NOT_FOUND"
            async with session.get(f"http://127.0.0.1:{port}/api/v3/supervisor/health") as response:
                assert response.status == 200
                health = await response.json()
                assert health["data"]["status"] in ("ok", "degraded")

        process.send_signal(signal.SIGTERM)
        stopping = await read_datagrams(sock, b"STOPPING=1", timeout=10)
        assert any(b"STOPPING=1" in datagram for datagram in stopping)
        async with asyncio.timeout(20):
            code = await process.wait()
        assert code == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_run_refuses_a_port_in_use_with_nonzero_exit(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await start_plugvisor(tmp_path, port, {})
        async with asyncio.timeout(30):
            code = await process.wait()
    assert code != 0
