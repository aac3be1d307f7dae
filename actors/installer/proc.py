"""Run a helper program (git, pip) in its own process group, killed whole on timeout or cancel."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from actors.installer.blocking import run_blocking

OUTPUT_LIMIT = 64 * 1024
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@dataclass(frozen=True, slots=True)
class ProcessResult:
    returncode: int
    output: str  # the tail of stdout and stderr together, decoded leniently


class ProcessTimeout(Exception):
    """The program ran past its deadline and was killed."""


def _prctl() -> Callable[..., int] | None:
    """libc's ``prctl``, looked up in the parent (never between fork and exec); Linux only."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # loaded by the first child process, not at start

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has Linux SIGKILL the child when its parent dies; None elsewhere.

    Without it a git or pip child outlives a supervisor killed outright (SIGKILL, the OOM
    killer) when no systemd cgroup is there to sweep it up. Linux sends the signal when the
    *thread* that forked the child exits, not the process: asyncio's subprocesses are forked
    by the event loop's own thread (``Popen`` runs inside ``create_subprocess_exec``), which
    lives as long as the supervisor does. Never start these children from a worker thread.
    The signal reaches the child only: its own helpers (git-remote-http) are not covered.
    """
    prctl = _prctl()
    if prctl is None:
        return None
    parent, kill = os.getpid(), int(signal.SIGKILL)

    def in_child() -> None:  # between fork and exec: one system call, no locks, no imports
        prctl(PR_SET_PDEATHSIG, kill, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: no signal will ever come
            os.kill(os.getpid(), kill)

    return in_child


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
    (git-remote-http, pip's build steps) down with it before the caller cleans up. It also dies
    with this process (``die_with_parent``); ``recover()`` at the next start cleans tmp/.
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
            preexec_fn=die_with_parent(),
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
