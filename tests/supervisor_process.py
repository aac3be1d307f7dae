"""run.py as a real process for the tests: its command line, and starting it until it serves."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def plugvisor_command(port: int, data_dir: Path, registry: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        str(REPO_ROOT / "run.py"),
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--registry-url",
        str(registry),
        "--log-format",
        "json",
        *extra,
    ]


async def start_serving(
    command: list[str], *, stderr: Any = asyncio.subprocess.DEVNULL, **options: Any
) -> asyncio.subprocess.Process:
    """Start the supervisor in its own session and wait (bounded) until it says it serves."""
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
        start_new_session=True,
        **options,
    )
    async with asyncio.timeout(30):
        line = await process.stdout.readline()
    assert b"serving on" in line, line
    return process
