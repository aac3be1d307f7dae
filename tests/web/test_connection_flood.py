"""run.py under a low file limit (a systemd service's `ulimit -n`): floods of half-open connections
neither wedge the server nor flood its log, and a client that vanishes mid-body is one info line."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tests.supervisor_process import free_port, plugvisor_command, start_serving
from tests.web.raw_http import Answer, ask, connect, read_answer, request

STATE = "/api/v3/plugins/state"
HALF_HEAD = f"GET {STATE} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()  # never finished


@dataclass
class Running:
    process: asyncio.subprocess.Process
    port: int
    log_path: Path

    def log(self) -> list[dict[str, Any]]:
        """Every stderr line; each must be one JSON object (a raw traceback would fail here)."""
        return [orjson.loads(line) for line in self.log_path.read_bytes().splitlines()]

    def events(self, name: str) -> list[dict[str, Any]]:
        return [line for line in self.log() if line["event"] == name]

    async def wait_for_event(self, name: str, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not self.events(name):
                await asyncio.sleep(0.05)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_file_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:  # runs in the child between fork and exec
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    return apply


@contextlib.asynccontextmanager
async def plugvisor(tmp_path: Path, *flags: str, nofile: int = 1024) -> AsyncIterator[Running]:
    registry = tmp_path / "registry.json"
    registry.write_text('{"plugins": []}')
    port = free_port()
    log_path = tmp_path / "stderr.jsonl"
    command = plugvisor_command(port, tmp_path / "data", registry, *flags)
    with log_path.open("wb") as stderr:
        process = await start_serving(command, stderr=stderr, preexec_fn=open_file_limit(nofile))
    try:
        yield Running(process, port, log_path)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(20):
                    await process.wait()
            except TimeoutError:
                os.killpg(process.pid, signal.SIGKILL)
                await process.wait()


async def half_open(port: int, count: int) -> list[tuple[asyncio.StreamReader, Any]]:
    """``count`` connections that each send part of a request head and then nothing."""

    async def one() -> tuple[asyncio.StreamReader, Any] | None:
        try:
            reader, writer = await connect(port, timeout=10)
        except (OSError, TimeoutError):
            return None
        writer.write(HALF_HEAD)
        return reader, writer

    opened = await asyncio.gather(*(one() for _ in range(count)))
    return [connection for connection in opened if connection is not None]


async def answers_of(flood: list[tuple[asyncio.StreamReader, Any]]) -> list[Answer | None]:
    try:
        return await asyncio.gather(*(read_answer(reader, timeout=40) for reader, _ in flood))
    finally:
        for _reader, writer in flood:
            writer.close()


async def answered_200(port: int, path: str, timeout: float = 15.0) -> Answer:
    """Ask until the answer is 200 (the server recovers), bounded in time."""
    async with asyncio.timeout(timeout):
        while True:
            answer = await ask(port, request("GET", path))
            if answer is not None and answer.status == 200:
                return answer
            await asyncio.sleep(0.1)


async def test_a_flood_past_the_file_limit_leaves_the_server_answering(tmp_path: Path) -> None:
    async with plugvisor(tmp_path, "--header-timeout", "6", nofile=256) as running:
        flood = await half_open(running.port, 300)
        health = await ask(running.port, request("GET", "/healthz"), timeout=30)
        state = await ask(running.port, request("GET", STATE), timeout=30)
        answers = await answers_of(flood)
        recovered = await answered_200(running.port, STATE)
        serving = running.events("serving")
    log = running.log()

    assert len(flood) > 256  # more connections than the process has descriptors
    assert serving[0]["max_connections"] == 168  # 256 less headroom and refusal slots
    assert health is not None and (health.status, health.body) == (200, b"ok")
    assert state is not None and state.status in (200, 503)
    if state.status == 503:
        assert state.headers["retry-after"] == "5"
        assert state.json()["error_code"] == "SERVICE_UNAVAILABLE"
    # Every flooding connection got a clean answer: 408 for the admitted ones whose head
    # never finished, 503 for those past the limit.
    statuses = Counter(answer.status if answer else None for answer in answers)
    assert set(statuses) == {408, 503} and statuses[408] >= 168, statuses
    assert recovered.json()["status"] == "success"
    # The log stayed small: repeats of one event are cut to a few lines, no tracebacks.
    assert len(log) < 60, Counter(line["event"] for line in log)
    assert not [line for line in log if "exception" in line or line["level"] == "error"]
    assert 1 <= len([line for line in log if line["event"] == "connection_over_limit"]) <= 5
    assert 1 <= len([line for line in log if line["event"] == "request_head_timeout"]) <= 5


async def test_out_of_descriptors_the_accept_loop_backs_off_and_recovers(tmp_path: Path) -> None:
    # A cap configured above what the file limit allows: accept() itself runs out (EMFILE).
    flags = ("--header-timeout", "4", "--max-connections", "400")
    async with plugvisor(tmp_path, *flags, nofile=128) as running:
        flood = await half_open(running.port, 200)
        await running.wait_for_event("accept_failed")
        cpu_before, started = running.cpu_seconds(), time.monotonic()
        await asyncio.sleep(1.5)  # a measuring window while accept() keeps failing
        cpu_used, window = running.cpu_seconds() - cpu_before, time.monotonic() - started
        still_failing = running.events("accept_recovered") == []
        answers = await answers_of(flood)
        await answered_200(running.port, "/healthz")
        await running.wait_for_event("accept_recovered")
    log = running.log()

    assert still_failing and window >= 1.5
    assert cpu_used < 0.3 * window  # backing off, not spinning on accept()
    assert [line["event"] for line in log if line["event"].startswith("max_connections")] == [
        "max_connections_above_file_limit"
    ]
    failures = [line for line in log if line["event"] == "accept_failed"]
    assert 1 <= len(failures) <= 5 and failures[0]["errno"] == "EMFILE"
    assert Counter(answer.status if answer else None for answer in answers).keys() <= {408, 503}
    assert not [line for line in log if "exception" in line]
    assert len(log) < 60, Counter(line["event"] for line in log)


async def test_a_client_gone_mid_body_is_one_info_line_without_traceback(tmp_path: Path) -> None:
    async with plugvisor(tmp_path) as running:
        reader, writer = await connect(running.port)
        body = b'{"plugin_id": "clock", "enabled": true}'
        head = request("POST", "/api/v3/plugins/toggle", body, Content_Type="application/json")
        head = head.replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n", 1)[: -len(body)]
        writer.write(head)
        # The 100 Continue proves the request reached the application before we vanish.
        async with asyncio.timeout(10):
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 100")
        writer.write(body[:10])
        await writer.drain()
        writer.close()
        await running.wait_for_event("client_disconnected")
        process = running.process
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            assert await process.wait() == 0
    log = running.log()

    disconnects = [line for line in log if line["event"] == "client_disconnected"]
    assert [(line["level"], line["path"]) for line in disconnects] == [
        ("info", "/api/v3/plugins/toggle")
    ]
    assert not [line for line in log if "exception" in line or line["level"] == "error"]
