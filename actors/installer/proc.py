"""Run a helper program (git, pip) in its own process group, killed whole on timeout or cancel."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from actors.installer.blocking import run_blocking

OUTPUT_LIMIT = 64 * 1024


@dataclass(frozen=True, slots=True)
class ProcessResult:
    returncode: int
    output: str  # the tail of stdout and stderr together, decoded leniently


class ProcessTimeout(Exception):
    """The program ran past its deadline and was killed."""


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _read_tail(handle: IO[bytes]) -> str:
    size = handle.seek(0, os.SEEK_END)
    handle.seek(max(0, size - OUTPUT_LIMIT))
    return handle.read().decode("utf-8", errors="replace")


async def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout_s: float,
) -> ProcessResult:
    """Run ``argv`` (no shell) with stdin closed; output goes to a temp file, not a pipe.

    The child leads a new session, so on timeout or cancellation ``killpg`` takes its helpers
    (git-remote-http, pip's build steps) down with it before the caller cleans up.
    """
    output = await run_blocking(tempfile.TemporaryFile)
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            async with asyncio.timeout(timeout_s):
                returncode = await proc.wait()
        except TimeoutError:
            _kill_group(proc)
            await proc.wait()
            raise ProcessTimeout from None
        except asyncio.CancelledError:
            _kill_group(proc)
            await asyncio.shield(proc.wait())
            raise
        text = await run_blocking(_read_tail, output)
    finally:
        output.close()
    return ProcessResult(returncode, text)


def child_env(
    drop_prefixes: tuple[str, ...] = (), keep: frozenset[str] = frozenset()
) -> dict[str, str]:
    """This environment minus variables starting with ``drop_prefixes`` (except ``keep``)."""
    return {
        key: value
        for key, value in os.environ.items()
        if key in keep or not key.startswith(drop_prefixes)
    }
