"""Config saves: 64 concurrent clients through the config store (group commit) against the same
atomic-write steps done one save at a time, on this disk and with an SD-card-like fsync delay.

Run: ``.venv/bin/python bench/config_store.py [--clients 64] [--seconds 3] [--fsync-delay-ms 10]``.
Prints ``name=value`` lines; the last is ``group_commit_ratio`` (our saves per second / the
serial baseline's, in the injected-latency pass). Every save counted is durable when answered.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from actors.config_store import SavePluginConfig, make_config_store
from actors.config_store.actor import open_files
from actors.config_store.schemas import SystemSchemas
from actors.events import EventBus
from actors.fsio import Syncer
from actors.paths import DataPaths
from supervision import ChildSpec, Supervisor

SCHEMA = {
    "type": "object",
    "properties": {"enabled": {"type": "boolean"}, "value": {"type": "integer", "minimum": 0}},
    "additionalProperties": False,
}

Save = Callable[[int, int], Awaitable[None]]


def make_data_dir(root: Path, clients: int) -> DataPaths:
    paths = DataPaths(root)
    paths.ensure()
    for client in range(clients):
        folder = paths.plugins_dir / f"bench-{client}"
        folder.mkdir()
        (folder / "manifest.json").write_bytes(orjson.dumps({"id": folder.name}))
        (folder / "config_schema.json").write_bytes(orjson.dumps(SCHEMA))
    return paths


async def drive(save: Save, clients: int, seconds: float) -> tuple[int, float, list[float]]:
    """Each client saves in a loop until the deadline; returns (saves, elapsed, latencies)."""
    latencies: list[float] = []
    clock = time.perf_counter
    deadline = clock() + seconds

    async def client(index: int) -> None:
        n = 0
        while clock() < deadline:
            sent = clock()
            await save(index, n)
            latencies.append(clock() - sent)
            n += 1

    start = clock()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return len(latencies), clock() - start, latencies


async def run_ours(root: Path, clients: int, seconds: float, delay: float) -> dict[str, float]:
    paths = make_data_dir(root, clients)
    syncer = Syncer(delay)
    factory = make_config_store(paths, EventBus(), syncer=syncer)
    tree = Supervisor("bench", [ChildSpec("store", factory)], ping_interval=None)
    await tree.start()
    ref = tree.ref("store")

    async def save(client: int, n: int) -> None:
        await ref.ask(SavePluginConfig(f"bench-{client}", {"value": n}), timeout=60)

    try:
        before = syncer.count
        saves, elapsed, latencies = await drive(save, clients, seconds)
        fsyncs = syncer.count - before
    finally:
        await tree.stop()
    return summary(saves, elapsed, latencies) | {"fsyncs_per_save": fsyncs / saves}


async def run_serial(root: Path, clients: int, seconds: float, delay: float) -> dict[str, float]:
    """The same commit (backup link, temp write, fsyncs, rename, folder fsync), one per save."""
    paths = make_data_dir(root, clients)
    syncer = Syncer(delay)
    files = open_files(paths, SystemSchemas.load(), syncer=syncer)
    current = files.load().snapshot
    lock = asyncio.Lock()

    async def save(client: int, n: int) -> None:
        nonlocal current
        async with lock:
            config = {**current.config, f"bench-{client}": {"value": n}}
            current, _ = await asyncio.to_thread(files.commit, current, config, current.secrets, 5)

    before = syncer.count
    saves, elapsed, latencies = await drive(save, clients, seconds)
    return summary(saves, elapsed, latencies) | {"fsyncs_per_save": (syncer.count - before) / saves}


def summary(saves: int, elapsed: float, latencies: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "saves": saves,
        "saves_per_s": saves / elapsed,
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
    }


async def one_pass(name: str, args: argparse.Namespace, delay: float) -> float:
    with tempfile.TemporaryDirectory(dir=args.tmp_dir) as tmp:
        ours = await run_ours(Path(tmp) / "ours", args.clients, args.seconds, delay)
        serial = await run_serial(Path(tmp) / "serial", args.clients, args.seconds, delay)
    print(f"{name}_fsync_delay_ms={delay * 1000:g}")
    for side, figures in (("ours", ours), ("serial", serial)):
        for key, value in figures.items():
            print(
                f"{name}_{side}_{key}={value:.2f}"
                if key != "saves"
                else f"{name}_{side}_{key}={value}"
            )
    ratio = ours["saves_per_s"] / serial["saves_per_s"]
    print(f"{name}_ratio={ratio:.2f}")
    return ratio


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--fsync-delay-ms", type=float, default=10.0)
    parser.add_argument("--tmp-dir", default=None, help="where the data directories go (a disk)")
    args = parser.parse_args()
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    print(f"clients={args.clients}")
    print(f"seconds_per_side={args.seconds:g}")
    await one_pass("disk", args, 0.0)
    ratio = await one_pass("sd", args, args.fsync_delay_ms / 1000)
    print(f"group_commit_ratio={ratio:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
