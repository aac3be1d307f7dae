"""Shared by the HTTP benches: a data dir with N installed plugins, the real server (run.py) or
a bare aiohttp app as a child process, and what /proc says about a process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
TIME = "2026-01-01T00:00:00Z"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(root: Path, plugins: int) -> tuple[Path, Path]:
    """``plugins`` installed plugins (manifest and install record), the state's file, and a
    registry naming each with a newer version; returns (data dir, registry file)."""
    data = root / "data"
    entries = []
    for n in range(plugins):
        plugin_id = f"plugin-{n:03d}"
        folder = data / "plugins" / plugin_id
        folder.mkdir(parents=True)
        manifest = {
            "id": plugin_id,
            "name": f"Plugin {n}",
            "version": "1.0.0",
            "class_name": "Plugin",
            "display_modes": [plugin_id],
            "author": "bench",
            "description": "A plugin of the benchmark, " + "with a description " * 3,
            "category": "demo",
            "tags": ["bench", "demo"],
        }
        record = {
            "plugin_id": plugin_id,
            "version": "1.0.0",
            "installed_at": TIME,
            "last_updated": TIME,
            "source": {
                "type": "registry",
                "url": f"https://example.invalid/{plugin_id}",
                "registry_id": plugin_id,
            },
            "operation_id": None,
        }
        (folder / "manifest.json").write_bytes(orjson.dumps(manifest))
        (folder / ".plugvisor.json").write_bytes(orjson.dumps(record))
        entries.append(
            {
                "id": plugin_id,
                "name": f"Plugin {n}",
                "repo": f"https://example.invalid/{plugin_id}",
                "latest_version": "1.1.0",
            }
        )
    registry = root / "registry.json"
    registry.write_bytes(orjson.dumps({"plugins": entries}))
    # as on a device that has run an operation: without it the state counts as lost
    (data / "state").mkdir()
    (data / "state" / "plugin_state.json").write_bytes(b'{"version": 2, "plugins": {}}')
    return data, registry


def start_real(
    data: Path,
    registry: Path,
    port: int,
    env: dict[str, str] | None = None,
    extra: list[str] | None = None,
) -> subprocess.Popen[bytes]:
    args = [
        sys.executable,
        str(REPO / "run.py"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data),
        "--registry-url",
        str(registry),
        "--log-format",
        "json",
        *(extra or []),
    ]
    return subprocess.Popen(
        args,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_bare(
    port: int, bodies: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A bare aiohttp app answering GET <path> with the bytes stored for it in ``bodies``."""
    args = [sys.executable, str(REPO / "bench" / "bare_server.py"), str(port), str(bodies)]
    return subprocess.Popen(
        args,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_answer(port: int, path: str, timeout: float = 30.0) -> float:
    """Seconds until ``GET path`` answers 200 (bounded); raises TimeoutError."""
    start = time.monotonic()
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
    while time.monotonic() - start < timeout:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
                sock.sendall(request)
                if sock.recv(12).startswith(b"HTTP/1.1 200"):
                    return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.005)
    raise TimeoutError(f"port {port} did not answer {path} in {timeout} s")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def io_counter(pid: int, name: str = "write_bytes") -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        key, _, value = line.partition(":")
        if key == name:
            return int(value)
    return 0


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
