"""History benchmark: newest-50 queries, start-up and memory beside 1,000 and 1,000,000 records.

Builds the JSON Lines files directly (the store's own format and rotation), then measures each
size in a fresh subprocess. Prints ``name=value`` lines. Usage: ``python bench/history.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import structlog  # noqa: E402

# Before any actor module makes a logger: the bench prints only its figures.
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))

from actors.history.records import encode_record  # noqa: E402
from actors.history.store import HistoryLimits, HistoryStore, segment_name  # noqa: E402

SIZES = (1_000, 1_000_000)
PLUGINS = 20  # plugin-00 .. plugin-19: each about 1 record in 20
RARE_EVERY = 10_000  # "rare-plugin": 1 record in 10,000
TYPES = ("install", "update", "uninstall", "configure")
LIMITS = HistoryLimits(max_file_bytes=4 * 1024 * 1024, max_total_bytes=4 * 1024**3)


def timestamp(n: int) -> str:
    """One record per second from 2026-01-01 (1,000,000 s stay within January)."""
    day, rest = divmod(n, 86_400)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    return f"2026-01-{day + 1:02d}T{hour:02d}:{minute:02d}:{second:02d}.000Z"


def build(folder: Path, count: int) -> None:
    """Write ``count`` records as the store would have: same lines, same size rotation."""
    folder.mkdir(parents=True)
    number, size, pending = 1, 0, []
    handle = (folder / segment_name(number)).open("wb")
    for n in range(count):
        failed = n % 10 == 0
        line = encode_record(
            {
                "operation_id": f"{n:032x}",
                "operation_type": TYPES[n % len(TYPES)],
                "plugin_id": "rare-plugin"
                if n % RARE_EVERY == RARE_EVERY - 1
                else f"plugin-{n % PLUGINS:02d}",
                "timestamp": timestamp(n),
                "status": "failed" if failed else "completed",
                "user": "local",
                "details": {"version": "1.0.4", "branch": "main"},
                "error": "git fetch failed" if failed else None,
            }
        )
        if size and size + len(line) > LIMITS.max_file_bytes:
            handle.write(b"".join(pending))
            handle.close()
            number, size, pending = number + 1, 0, []
            handle = (folder / segment_name(number)).open("wb")
        pending.append(line)
        size += len(line)
    handle.write(b"".join(pending))
    handle.close()


def vm(field: str) -> int:
    """A ``/proc/self/status`` figure in KiB (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return -1


async def measure(folder: Path, count: int) -> None:
    """In a fresh process: start the actor, time the queries, then read resident memory."""
    from actors.history.actor import HistoryActor
    from actors.history.messages import QueryHistory
    from supervision import ChildSpec, Supervisor

    began = time.perf_counter()
    store = HistoryStore(folder, LIMITS)
    store.open()
    print(f"store_open_ms={(time.perf_counter() - began) * 1000:.2f}")
    store.close()
    began = time.perf_counter()
    tree = Supervisor("bench", [ChildSpec("history", lambda: HistoryActor(folder, limits=LIMITS))])
    await tree.start()
    print(f"actor_start_ms={(time.perf_counter() - began) * 1000:.2f}")
    ref = tree.ref("history")
    middle = count // 2
    queries = {
        "newest50": (QueryHistory(), 50),
        "plugin_1in20": (QueryHistory(plugin_id="plugin-07"), 50),
        "status_failed_1in10": (QueryHistory(status="failed"), 50),
        "plugin_1in20_before_time": (
            QueryHistory(plugin_id="plugin-07", before=timestamp(middle)),
            20,
        ),
        "before_id_uncached": (QueryHistory(before=f"{middle:032x}"), 5),
        "rare_1in10000": (QueryHistory(plugin_id="rare-plugin"), 5),
        "absent_full_scan": (QueryHistory(plugin_id="never-installed"), 3),
    }
    for name, (query, runs) in queries.items():
        timings, scanned = [], 0
        for _ in range(runs + 1):  # the first run warms up
            began = time.perf_counter()
            page = await ref.ask(query, timeout=120)
            timings.append((time.perf_counter() - began) * 1000)
            scanned = page.scanned_bytes
        timings = timings[1:]
        print(f"query_{name}_ms_median={statistics.median(timings):.2f}")
        print(f"query_{name}_ms_max={max(timings):.2f}")
        print(f"query_{name}_records={len(page.records)}")
        print(f"query_{name}_scanned_kib={scanned // 1024}")
    first = await ref.ask(QueryHistory(plugin_id="plugin-07"), timeout=60)
    began = time.perf_counter()
    await ref.ask(QueryHistory(plugin_id="plugin-07", before=first.next_before), timeout=60)
    print(f"query_next_page_cached_cursor_ms={(time.perf_counter() - began) * 1000:.2f}")
    print(f"vm_rss_kib={vm('VmRSS')}")
    print(f"vm_hwm_kib={vm('VmHWM')}")
    await tree.stop()


def run_child(folder: Path, count: int) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", str(folder), "--records", str(count)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--records", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        asyncio.run(measure(args.measure, args.records))
        return
    root = Path(tempfile.mkdtemp(prefix="bench-history-"))
    try:
        results = {}
        for count in SIZES:
            folder = root / f"history-{count}"
            began = time.perf_counter()
            build(folder, count)
            files = sorted(folder.iterdir())
            print(f"records_{count}.build_s={time.perf_counter() - began:.2f}")
            print(f"records_{count}.files={len(files)}")
            print(f"records_{count}.bytes={sum(f.stat().st_size for f in files)}")
            results[count] = run_child(folder, count)
            for name, value in results[count].items():
                print(f"records_{count}.{name}={value}")
        small, big = results[SIZES[0]], results[SIZES[-1]]
        filtered = float(big["query_plugin_1in20_ms_median"])
        start = float(big["actor_start_ms"])
        ratio = int(big["vm_rss_kib"]) / int(small["vm_rss_kib"])
        print(f"rss_ratio_{SIZES[-1]}_vs_{SIZES[0]}={ratio:.3f}")
        print(f"target_filtered_query_under_20ms={'pass' if filtered < 20 else 'FAIL'}")
        print(f"target_start_under_1s={'pass' if start < 1000 else 'FAIL'}")
        print(f"target_memory_independent_of_size={'pass' if ratio < 1.1 else 'FAIL'}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
