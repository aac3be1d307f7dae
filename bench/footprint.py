"""Start-up and idle footprint of the real server beside a bare aiohttp app started the same way.

With 20 installed plugins: exec to READY (sd_notify on a real socket) against the bare app's
exec to first answer, idle resident memory of both, and what the real server writes while
nothing changes: the second start (the first one settles the new data dir: it reconciles
the configuration it finds missing) idles for ``--idle-seconds`` with the systemd watchdog
pinging every ``--ping-ms``, the reconciler running every ``--idle-reconcile-interval`` and
the health checks every ``--idle-health-interval`` seconds, so 20 idle seconds hold more
reconciliations and checks than 10 minutes at the defaults (900 s and 5 s).
Prints ``name=value`` lines. Usage: ``python bench/footprint.py [--runs 5] [--idle-seconds 20]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serverproc import (
    free_port,
    io_counter,
    prepare,
    rss_kib,
    start_bare,
    start_real,
    stop,
    wait_answer,
)

IDLE_RUN = 1  # which start idles: not the first, which finds a new data dir to settle
SETTLE_S = 2.0  # after READY / first answer, before reading the resident memory


def wait_ready(sock: socket.socket, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            if b"READY=1" in sock.recv(4096).split(b"\n"):
                return
        except TimeoutError:
            break
    raise TimeoutError("no READY=1 from the server")


def files_state(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def one_real(
    data: Path, registry: Path, root: Path, idle_s: float, ping_ms: int, extra: list[str]
) -> dict:
    notify = root / f"notify-{time.monotonic_ns()}.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(notify))
        env = {"NOTIFY_SOCKET": str(notify), "WATCHDOG_USEC": str(ping_ms * 2000)}
        start = time.monotonic()
        proc = start_real(data, registry, free_port(), env, extra)
        try:
            wait_ready(sock)
            ready = time.monotonic() - start
            time.sleep(SETTLE_S)
            rss = rss_kib(proc.pid)
            before, files = io_counter(proc.pid), files_state(data)
            pings = 0
            deadline = time.monotonic() + idle_s
            while time.monotonic() < deadline:  # count the watchdog pings as proof of life
                sock.settimeout(max(deadline - time.monotonic(), 0.01))
                try:
                    pings += sock.recv(4096).count(b"WATCHDOG=1")
                except TimeoutError:
                    break
            written = io_counter(proc.pid) - before
            changed = sorted(
                name for name, seen in files_state(data).items() if files.get(name) != seen
            )
        finally:
            stop(proc)
            notify.unlink(missing_ok=True)
    return {
        "ready_s": ready,
        "rss_kib": rss,
        "idle_written": written,
        "idle_changed": changed,
        "pings": pings,
    }


def one_bare(bodies: Path) -> dict:
    port = free_port()
    start = time.monotonic()
    proc = start_bare(port, bodies)
    try:
        wait_answer(port, "/api/v3/plugins/state", timeout=30.0)
        answered = time.monotonic() - start
        time.sleep(SETTLE_S)
        rss = rss_kib(proc.pid)
    finally:
        stop(proc)
    return {"ready_s": answered, "rss_kib": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--ping-ms", type=int, default=50)
    parser.add_argument("--idle-reconcile-interval", type=float, default=0.5)
    parser.add_argument("--idle-health-interval", type=float, default=0.05)
    args = parser.parse_args()
    if args.runs <= IDLE_RUN:
        parser.error(f"--runs must be more than {IDLE_RUN}")
    short = [
        *("--reconcile-interval", str(args.idle_reconcile_interval)),
        *("--health-check-interval", str(args.idle_health_interval)),
    ]
    with tempfile.TemporaryDirectory(prefix="bench-footprint-", dir="/var/tmp") as tmp:
        root = Path(tmp)
        data, registry = prepare(root, args.plugins)
        bodies = root / "bodies.json"
        bodies.write_bytes(orjson.dumps({"/api/v3/plugins/state": '{"status":"success"}'}))
        real, bare = [], []
        for i in range(args.runs):  # alternated, so both see the same background load
            idle = args.idle_seconds if i == IDLE_RUN else 0
            extra = short if i == IDLE_RUN else []  # the other starts measure the defaults
            real.append(one_real(data, registry, root, idle, args.ping_ms, extra))
            bare.append(one_bare(bodies))
    real_ready = statistics.median(r["ready_s"] for r in real)
    bare_ready = statistics.median(r["ready_s"] for r in bare)
    real_rss = statistics.median(r["rss_kib"] for r in real)
    bare_rss = statistics.median(r["rss_kib"] for r in bare)
    print(f"plugins={args.plugins} runs={args.runs}")
    print(f"exec_to_ready_s={real_ready:.3f}")
    print(f"bare_exec_to_first_answer_s={bare_ready:.3f}")
    print(f"ready_ratio={real_ready / bare_ready:.2f}")
    print(f"idle_rss_mib={real_rss / 1024:.1f}")
    print(f"bare_idle_rss_mib={bare_rss / 1024:.1f}")
    print(f"rss_over_bare_mib={(real_rss - bare_rss) / 1024:.1f}")
    simulated = min(
        args.idle_seconds / args.idle_reconcile_interval * 900,
        args.idle_seconds / args.idle_health_interval * 5,
    )
    print(f"idle_seconds={args.idle_seconds} watchdog_pings={real[IDLE_RUN]['pings']}")
    print(
        f"idle_reconcile_interval_s={args.idle_reconcile_interval}"
        f" idle_health_interval_s={args.idle_health_interval}"
        f" simulated_idle_minutes={simulated / 60:.0f}"
    )
    print(f"idle_bytes_written={real[IDLE_RUN]['idle_written']}")
    print(f"idle_files_changed={','.join(real[IDLE_RUN]['idle_changed']) or 'none'}")
    print(f"python={sys.version.split()[0]} pid={os.getpid()}")


if __name__ == "__main__":
    main()
