"""Ask round trips: our ``ActorRef.ask`` against a bare asyncio.Queue + Future baseline.

Run: ``.venv/bin/python bench/actors.py [--asks N] [--rounds R]``. Prints ``name=value`` lines;
the last is ``ask_ratio`` (our cost per ask / the baseline's), the median over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from supervision import Actor, ChildSpec, Supervisor, handles


@dataclass(frozen=True, slots=True)
class Add:
    n: int


class Adder(Actor):
    @handles(Add)
    async def add(self, msg: Add) -> int:
        return msg.n + 1


async def _baseline_consumer(queue: asyncio.Queue[tuple[Add, asyncio.Future[int]]]) -> None:
    while True:
        msg, reply = await queue.get()
        if not reply.done():
            reply.set_result(msg.n + 1)


async def run_baseline(count: int, latencies: list[float] | None) -> float:
    """Seconds for ``count`` sequential round trips through a Queue and a Future."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[Add, asyncio.Future[int]]] = asyncio.Queue(maxsize=1000)
    consumer = loop.create_task(_baseline_consumer(queue))
    clock = time.perf_counter
    try:
        start = clock()
        for i in range(count):
            sent = clock() if latencies is not None else 0.0
            reply: asyncio.Future[int] = loop.create_future()
            await queue.put((Add(i), reply))
            await reply
            if latencies is not None:
                latencies.append(clock() - sent)
        return clock() - start
    finally:
        consumer.cancel()
        await asyncio.wait({consumer})


async def run_actor(count: int, latencies: list[float] | None) -> float:
    """Seconds for ``count`` sequential ``ref.ask`` round trips to a trivial handler."""
    sup = Supervisor("bench", [ChildSpec("adder", Adder)], ping_interval=None)
    ref = sup.ref("adder")
    await sup.start()
    clock = time.perf_counter
    try:
        start = clock()
        for i in range(count):
            sent = clock() if latencies is not None else 0.0
            await ref.ask(Add(i), 5.0)
            if latencies is not None:
                latencies.append(clock() - sent)
        return clock() - start
    finally:
        await sup.stop()


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def main(asks: int, rounds: int) -> None:
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    await run_baseline(2000, None)  # warm up both paths
    await run_actor(2000, None)
    ours: list[float] = []
    base: list[float] = []
    ratios: list[float] = []
    for _ in range(rounds):
        b = await run_baseline(asks, None)
        a = await run_actor(asks, None)
        base.append(b)
        ours.append(a)
        ratios.append(a / b)
    lat_ours: list[float] = []
    lat_base: list[float] = []
    await run_baseline(asks, lat_base)
    await run_actor(asks, lat_ours)
    ours_t = statistics.median(ours)
    base_t = statistics.median(base)
    print(f"asks_per_round={asks}")
    print(f"rounds={rounds}")
    print(f"actor_ask_per_s={asks / ours_t:.0f}")
    print(f"actor_ask_us={ours_t / asks * 1e6:.2f}")
    print(f"actor_p50_us={_percentile(lat_ours, 0.50) * 1e6:.1f}")
    print(f"actor_p99_us={_percentile(lat_ours, 0.99) * 1e6:.1f}")
    print(f"baseline_per_s={asks / base_t:.0f}")
    print(f"baseline_us={base_t / asks * 1e6:.2f}")
    print(f"baseline_p50_us={_percentile(lat_base, 0.50) * 1e6:.1f}")
    print(f"baseline_p99_us={_percentile(lat_base, 0.99) * 1e6:.1f}")
    print(f"ask_ratio={statistics.median(ratios):.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--asks", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(main(args.asks, args.rounds))
