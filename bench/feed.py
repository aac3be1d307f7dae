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
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
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
    samples = await publish_for(publish, args.rate, args.seconds)
    print(f"RSS {' '.join(map(str, samples))}", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # the parent says when its clients are done
    await runner.cleanup()


# -- the subscribers (this process) -------------------------------------------------------


async def subscriber(session: aiohttp.ClientSession, url: str, latencies: list[float]) -> None:
    async with session.ws_connect(url, max_msg_size=0) as ws:
        async for message in ws:
            body = orjson.loads(message.data)
            if body.get("type") != "event":
                continue
            if "t" not in body["data"]:
                continue  # the system's own events (health checks): not the bench's
            latencies.append((time.monotonic_ns() - body["data"]["t"]) / 1e6)
            if body["data"]["n"] == -1:
                return


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


async def run(kind: str, args: argparse.Namespace) -> None:
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
        url = f"http://127.0.0.1:{port}/api/v3/ws"
        latencies: list[list[float]] = [[] for _ in range(args.subscribers)]
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            stall = await stalled(port) if with_stall else None
            tasks = [asyncio.create_task(subscriber(session, url, lat)) for lat in latencies]
            async with asyncio.timeout(args.seconds + 120):
                await asyncio.gather(*tasks)
            if stall is not None:
                stall.close()
        rss = (await child.stdout.readline()).decode()
        child.stdin.write(b"done\n")
        await child.stdin.drain()
        async with asyncio.timeout(30):
            await child.wait()
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    every = sorted(x for lat in latencies for x in lat)
    counts = {len(lat) for lat in latencies}
    samples = [int(x) for x in rss.split()[1:]]
    p50 = statistics.median(every)
    p99 = every[int(len(every) * 0.99) - 1]
    print(f"{kind}_subscribers={args.subscribers} {kind}_rate={args.rate}/s")
    print(f"{kind}_stalled_subscriber={'yes' if with_stall else 'no'}")
    print(f"{kind}_delivered_per_subscriber={sorted(counts)}")
    print(f"{kind}_p50_ms={p50:.2f} {kind}_p99_ms={p99:.2f} {kind}_max_ms={every[-1]:.2f}")
    print(f"{kind}_rss_kib_first={samples[0]} last={samples[-1]} max={max(samples)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--serve", choices=("feed", "bare"))
    parser.add_argument("--expect", type=int, default=0)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args))
        return
    for kind in ("bare", "feed"):
        asyncio.run(run(kind, args))


if __name__ == "__main__":
    main()
