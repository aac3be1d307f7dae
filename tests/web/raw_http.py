"""HTTP at the byte level for connection tests: half-sent requests, answers read off the socket."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


async def connect(port: int, timeout: float = 10.0) -> tuple[asyncio.StreamReader, Any]:
    async with asyncio.timeout(timeout):
        return await asyncio.open_connection("127.0.0.1", port)


def request(method: str, path: str, body: bytes = b"", **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_answer(reader: asyncio.StreamReader, timeout: float = 10.0) -> Answer | None:
    """One response (its body by Content-Length); None when the server closed without one."""
    async with asyncio.timeout(timeout):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            assert exc.partial == b"", exc.partial
            return None
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in filter(None, header_lines):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Answer(int(status_line.split()[1]), headers, body)


async def closed_by_server(reader: asyncio.StreamReader, timeout: float = 10.0) -> bool:
    """True once the server has closed the connection (EOF or reset), within ``timeout``."""
    async with asyncio.timeout(timeout):
        try:
            return await reader.read(65536) == b""
        except ConnectionResetError:
            return True


async def ask(port: int, raw: bytes, timeout: float = 10.0) -> Answer | None:
    """Send ``raw`` on a fresh connection and read one answer."""
    reader, writer = await connect(port, timeout)
    try:
        writer.write(raw)
        await writer.drain()
        return await read_answer(reader, timeout)
    finally:
        writer.close()
