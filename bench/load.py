"""The load process of bench/api.py: C keep-alive connections on loopback for a bounded time.

Usage: ``python bench/load.py PORT MODE CONNECTIONS SECONDS [PLUGINS]``; MODE is ``state``,
``installed`` or ``toggle`` (each request flips a plugin no other request is flipping). Prints
one JSON line: requests, errors, seconds, p50_ms, p99_ms.
"""

from __future__ import annotations

import asyncio
import sys
import time

import aiohttp
import orjson

PATHS = {"state": "/api/v3/plugins/state", "installed": "/api/v3/plugins/installed"}


async def run(port: int, mode: str, connections: int, seconds: float, plugins: int) -> dict:
    base = f"http://127.0.0.1:{port}"
    latencies: list[float] = []
    errors = 0
    free = asyncio.Queue()  # plugins no request is toggling now, with the flag to send
    for n in range(plugins):
        free.put_nowait((f"plugin-{n:03d}", True))
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        deadline = time.perf_counter() + seconds

        async def one() -> bool:
            if mode != "toggle":
                async with session.get(base + PATHS[mode]) as response:
                    await response.read()
                    return response.status == 200
            plugin_id, enabled = await free.get()
            ok = False
            try:
                body = orjson.dumps({"plugin_id": plugin_id, "enabled": enabled})
                headers = {"Content-Type": "application/json"}
                async with session.post(
                    base + "/api/v3/plugins/toggle", data=body, headers=headers
                ) as response:
                    await response.read()
                    ok = response.status == 200
            finally:
                free.put_nowait((plugin_id, not enabled if ok else enabled))
            return ok

        async def worker() -> None:
            nonlocal errors
            clock = time.perf_counter
            while clock() < deadline:
                start = clock()
                try:
                    ok = await one()
                except (TimeoutError, aiohttp.ClientError):
                    ok = False
                if ok:
                    latencies.append(clock() - start)
                else:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 3),
        "p50_ms": pct(0.5) if latencies else None,
        "p99_ms": pct(0.99) if latencies else None,
    }


def main() -> None:
    port, mode, connections, seconds = sys.argv[1:5]
    plugins = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    result = asyncio.run(run(int(port), mode, int(connections), float(seconds), plugins))
    print(orjson.dumps(result).decode(), flush=True)


if __name__ == "__main__":
    main()
