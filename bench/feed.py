"""Status feed benchmark: delivery latency p50/p99 to N subscribers at M events/s, beside a bare
aiohttp WebSocket broadcast, and the server's memory with a stalled subscriber attached.

The server runs in a child process (the real system and app, or the bare broadcast); the
subscribers run here. Prints ``name=value`` lines.
Usage: ``python bench/feed.py [--subscribers 500] [--rate 200] [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import os
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import orjson  # noqa: E402
import structlog  # noqa: E402
from aiohttp import web  # noqa: E402

# Before any actor module makes a logger: the bench prints only its figures.
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))

PAD = "x" * 200  # an operation event is a few hundred bytes


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# -- the server side (child process) ------------------------------------------------------


async def publish_for(publish: Any, rate: int, seconds: float) -> list[int]:
    """Publish ``rate`` events a second for ``seconds``; the RSS once a second."""
    samples = [rss_kib()]
    interval = 1.0 / rate
    start = time.monotonic()
    total = int(rate * seconds)
    for n in range(total):
        delay = start + n * interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await publish({"t": time.monotonic_ns(), "n": n, "pad": PAD})
        if n % rate == rate - 1:
            samples.append(rss_kib())
    await publish({"t": time.monotonic_ns(), "n": -1, "pad": ""})  # the end
    return samples


async def serve_feed(args: argparse.Namespace) -> tuple[web.BaseRunner, Any, Any]:
    from actors.system import Settings, build_system
    from web.app import create_app
    from web.routes.feed import FEED_SESSIONS

    root = Path(tempfile.mkdtemp(prefix="bench-feed-"))
    registry = root / "registry.json"
    registry.write_text('{"plugins": []}')
    system = build_system(Settings(data_dir=root / "data", registry_url=str(registry)))
    await system.tree.start()
    app = create_app(system)
    runner = web.AppRunner(app)
    await runner.setup()

    async def publish(data: dict[str, Any]) -> None:
        system.bus.publish("reconcile", data)

    return runner, publish, lambda: len(app[FEED_SESSIONS])


async def serve_bare(args: argparse.Namespace) -> tuple[web.BaseRunner, Any, Any]:
    clients: set[web.WebSocketResponse] = set()
    seq = 0

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        clients.add(ws)
        try:
            async for _ in ws:
                pass
        finally:
            clients.discard(ws)
        return ws

    async def publish(data: dict[str, Any]) -> None:
        nonlocal seq
        seq += 1
        text = orjson.dumps({"type": "event", "seq": seq, "event": "reconcile", "data": data})
        for ws in list(clients):
            await ws.send_str(text.decode())

    app = web.Application()
    app.router.add_get("/api/v3/ws", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    return runner, publish, lambda: len(clients)


async def serve(args: argparse.Namespace) -> None:
    runner, publish, count = await (serve_feed if args.serve == "feed" else serve_bare)(args)
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(f"PORT {port}", flush=True)
    for _ in range(1200):  # up to a minute for the subscribers to connect
        if count() >= args.expect:
            break
        await asyncio.sleep(0.05)
    cpu_before, wall_before = time.process_time(), time.monotonic()
    samples = await publish_for(publish, args.rate, args.seconds)
    cpu, wall = time.process_time() - cpu_before, time.monotonic() - wall_before
    print(f"RSS {' '.join(map(str, samples))}", flush=True)
    print(f"CPU {cpu:.3f} {wall:.3f}", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # the parent says when its clients are done
    await runner.cleanup()


# -- the subscribers (this process) -------------------------------------------------------


class Subscriber(asyncio.Protocol):
    """A lean WebSocket subscriber: frames parsed inline as bytes arrive, with no task, future
    or message object per frame, so that 500 of them in one process measure the server and
    not this client. Records each bench event's latency until the last one, and every gap in
    ``seq`` that a snapshot (a resynchronisation: it fell behind) does not explain."""

    def __init__(self, seen: Seen, done: asyncio.Future[None]) -> None:
        self.seen = seen
        self.done = done
        self.buffer = bytearray()
        self.upgraded = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET /api/v3/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {key}\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buffer.startswith(b"HTTP/1.1 101"):
                self._finish()
                return
            del self.buffer[: end + 4]
            self.upgraded = True
        buffer, pos = self.buffer, 0
        while len(buffer) - pos >= 2:
            opcode, length, head = buffer[pos] & 0x0F, buffer[pos + 1] & 0x7F, 2
            if length == 126:
                if len(buffer) - pos < 4:
                    break
                length, head = int.from_bytes(buffer[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if len(buffer) - pos < 10:
                    break
                length, head = int.from_bytes(buffer[pos + 2 : pos + 10], "big"), 10
            if len(buffer) - pos < head + length:
                break
            payload = bytes(buffer[pos + head : pos + head + length])
            pos += head + length
            if opcode == 0x1:
                self._message(orjson.loads(payload), now)
            elif opcode == 0x9:  # the server's heartbeat: answer with a (masked) pong
                mask = os.urandom(4)
                masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
                assert self.transport is not None
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + mask + masked)
            elif opcode == 0x8:  # closed (1013 for a subscriber that could not keep up)
                self.seen.closed = int.from_bytes(payload[:2], "big") if payload else 1005
                self._finish()
                return
        del buffer[:pos]

    def _message(self, body: dict[str, Any], now: int) -> None:
        seen, seq = self.seen, body.get("seq")
        if body.get("type") == "snapshot":
            seen.resynced = seen.resynced or seen.last_seq is not None
            seen.last_seq = seq
            return
        if body.get("type") != "event":
            return
        if seen.last_seq is not None and seq != seen.last_seq + 1:
            seen.lost += seq - seen.last_seq - 1
        seen.last_seq = seq
        data = body["data"]
        if "t" not in data:
            return  # the system's own events (health checks): not the bench's
        seen.latencies.append((now - data["t"]) / 1e6)
        if data["n"] == -1:
            seen.finished = True
            self._finish()

    def _finish(self) -> None:
        if self.transport is not None:
            self.transport.close()
        if not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def subscribe(port: int, seen: Seen) -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    await loop.create_connection(lambda: Subscriber(seen, done), "127.0.0.1", port)
    await done


@dataclass
class Seen:
    latencies: list[float] = field(default_factory=list)
    last_seq: int | None = None
    lost: int = 0
    resynced: bool = False
    finished: bool = False
    closed: int | None = None  # the server's close code, if it closed the socket


async def stalled(port: int) -> socket.socket:
    """Upgrade, then never read again."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /api/v3/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    return sock


async def run(kind: str, args: argparse.Namespace) -> dict[str, float]:
    with_stall = kind == "feed"
    expect = args.subscribers + (1 if with_stall else 0)
    child = await asyncio.create_subprocess_exec(
        *[sys.executable, __file__, "--serve", kind, "--expect", str(expect)],
        *["--rate", str(args.rate), "--seconds", str(args.seconds)],
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        port = int((await child.stdout.readline()).split()[1])
        seen = [Seen() for _ in range(args.subscribers)]
        stall = await stalled(port) if with_stall else None
        tasks = [asyncio.create_task(subscribe(port, one)) for one in seen]
        _, late = await asyncio.wait(tasks, timeout=args.seconds + 120)
        for task in late:  # never given the last event: counted as lost below
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if stall is not None:
            stall.close()
        rss = (await child.stdout.readline()).decode()
        _, cpu_text, wall_text = (await child.stdout.readline()).split()
        cpu, wall = float(cpu_text), float(wall_text)
        child.stdin.write(b"done\n")
        await child.stdin.drain()
        async with asyncio.timeout(30):
            await child.wait()
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    every = sorted(x for one in seen for x in one.latencies)
    counts = {len(one.latencies) for one in seen}
    kept_up = [one for one in seen if not one.resynced and one.closed is None]
    closed = sum(one.closed is not None for one in seen)
    frames = sum(len(one.latencies) for one in seen)
    lost = sum(one.lost + (0 if one.finished else 1) for one in kept_up)
    resynced = sum(one.resynced for one in seen)
    samples = [int(x) for x in rss.split()[1:]]
    p50 = statistics.median(every)
    p99 = every[int(len(every) * 0.99) - 1]
    print(f"{kind}_subscribers={args.subscribers} {kind}_rate={args.rate}/s")
    print(f"{kind}_stalled_subscriber={'yes' if with_stall else 'no'}")
    print(f"{kind}_bench_events_per_subscriber={sorted(counts)}")
    print(f"{kind}_resynced_subscribers={resynced} {kind}_closed_by_server={closed}")
    print(f"{kind}_kept_up={len(kept_up)}")
    print(f"{kind}_events_lost_by_subscribers_that_kept_up={lost}")
    print(f"{kind}_server_cpu_s={cpu:.2f} {kind}_cpu_us_per_frame={cpu / max(frames, 1) * 1e6:.1f}")
    # A publisher that waits for its sends (the bare broadcast) falls behind the asked rate
    # when the server is short of CPU; the bus never waits, so ours publishes at the rate.
    achieved = (args.rate * args.seconds + 1) / max(wall, 1e-9)
    print(f"{kind}_publish_seconds={wall:.2f} {kind}_published_per_s={achieved:.0f}")
    print(f"{kind}_p50_ms={p50:.2f} {kind}_p99_ms={p99:.2f} {kind}_max_ms={every[-1]:.2f}")
    print(f"{kind}_rss_kib_first={samples[0]} last={samples[-1]} max={max(samples)}")
    return {"p99": p99, "cpu_per_frame": cpu / max(frames, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--serve", choices=("feed", "bare"))
    parser.add_argument("--expect", type=int, default=0)
    parser.add_argument("--only", choices=("feed", "bare"), action="append")
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args))
        return
    results = {kind: asyncio.run(run(kind, args)) for kind in args.only or ("bare", "feed")}
    if len(results) == 2:
        bare, ours = results["bare"], results["feed"]
        print(f"p99_ratio={ours['p99'] / bare['p99']:.2f}")
        print(f"cpu_per_frame_ratio={ours['cpu_per_frame'] / bare['cpu_per_frame']:.2f}")


if __name__ == "__main__":
    main()
