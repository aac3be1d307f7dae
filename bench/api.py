"""HTTP throughput of the read endpoints and of toggles, beside a bare aiohttp app.

For 20 and 200 installed plugins: starts the real server (run.py) and a bare aiohttp app
answering the same bytes, each in a child process, and drives them from a separate load
process (bench/load.py, aiohttp client, keep-alive) on loopback at 1, 16 and 64 connections,
each run bounded by ``--seconds``. Prints ``name=value`` lines, then ``read_ratio``,
``installed_ratio`` (ours / bare requests/s at 64 connections), ``read_cpu_ratio`` and
``installed_cpu_ratio`` (bare / ours server CPU per request) per size and
``toggle_scaling`` (toggles/s at the largest size / at the smallest).
Usage: ``python bench/api.py [--sizes 20,200] [--connections 1,16,64] [--seconds 3]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serverproc import (
    cpu_seconds,
    free_port,
    io_counter,
    prepare,
    start_bare,
    start_real,
    stop,
    wait_answer,
)

LOAD = Path(__file__).resolve().parent / "load.py"
READS = {"state": "/api/v3/plugins/state", "installed": "/api/v3/plugins/installed"}


def drive(pid: int, port: int, mode: str, connections: int, seconds: float, plugins: int) -> dict:
    """One bounded load run; adds requests/s and the server's CPU and disk writes."""
    cpu, written = cpu_seconds(pid), io_counter(pid)
    out = subprocess.run(
        [sys.executable, str(LOAD), str(port), mode, str(connections), str(seconds), str(plugins)],
        capture_output=True,
        timeout=seconds + 60,
        check=True,
    )
    result = orjson.loads(out.stdout)
    requests = max(result["requests"], 1)
    result["rps"] = round(result["requests"] / result["seconds"], 1)
    result["cpu_s_per_1k"] = round((cpu_seconds(pid) - cpu) * 1000 / requests, 3)
    result["bytes_written_per_req"] = round((io_counter(pid) - written) / requests)
    return result


def line(server: str, plugins: int, mode: str, connections: int, r: dict) -> str:
    fields = (
        f"server={server} plugins={plugins} endpoint={mode} connections={connections} "
        f"rps={r['rps']} p50_ms={r['p50_ms']} p99_ms={r['p99_ms']} errors={r['errors']} "
        f"cpu_s_per_1k={r['cpu_s_per_1k']}"
    )
    if mode == "toggle":
        fields += f" bytes_written_per_toggle={r['bytes_written_per_req']}"
    return fields


def bench_size(plugins: int, args: argparse.Namespace, root: Path) -> dict[str, float]:
    """Both servers run side by side; each read cell drives ours then the bare app back to
    back, so both see the same background load of a shared machine."""
    data, registry = prepare(root / f"n{plugins}", plugins)
    port, bare_port = free_port(), free_port()
    real = start_real(data, registry, port)
    bare = None
    top: dict[str, float] = {}
    try:
        wait_answer(port, READS["installed"])
        bodies = {}
        for path in READS.values():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as reply:
                bodies[path] = reply.read().decode()
        bodies_file = root / f"bodies-{plugins}.json"
        bodies_file.write_bytes(orjson.dumps(bodies))
        bare = start_bare(bare_port, bodies_file)
        wait_answer(bare_port, READS["state"])
        for mode in ("state", "installed"):
            for connections in args.connections:
                for server, pid, at in (("ours", real.pid, port), ("bare", bare.pid, bare_port)):
                    r = drive(pid, at, mode, connections, args.seconds, plugins)
                    print(line(server, plugins, mode, connections, r), flush=True)
                    top[f"{server}_{mode}_{connections}"] = r["rps"]
                    top[f"{server}_{mode}_{connections}_cpu"] = r["cpu_s_per_1k"]
        for connections in args.connections:
            r = drive(real.pid, port, "toggle", connections, args.seconds, plugins)
            print(line("ours", plugins, "toggle", connections, r), flush=True)
            top[f"ours_toggle_{connections}"] = r["rps"]
        config = data / "config" / "config.json"
        if config.exists():
            print(f"plugins={plugins} config_json_bytes={config.stat().st_size}", flush=True)
    finally:
        stop(real)
        if bare is not None:
            stop(bare)
    return top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20,200")
    parser.add_argument("--connections", default="1,16,64")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    args.connections = [int(c) for c in args.connections.split(",")]
    sizes = [int(s) for s in args.sizes.split(",")]
    most = max(args.connections)
    toggles = {}
    with tempfile.TemporaryDirectory(prefix="bench-api-", dir="/var/tmp") as tmp:
        for plugins in sizes:
            top = bench_size(plugins, args, Path(tmp))
            for mode, name in (("state", "read_ratio"), ("installed", "installed_ratio")):
                ratio = top[f"ours_{mode}_{most}"] / max(top[f"bare_{mode}_{most}"], 0.1)
                print(f"plugins={plugins} {name}={ratio:.2f}", flush=True)
                # Server CPU per request, bare / ours: steadier than req/s when the load
                # process and the server share few cores.
                cpu = top[f"bare_{mode}_{most}_cpu"] / max(top[f"ours_{mode}_{most}_cpu"], 1e-6)
                print(f"plugins={plugins} {name.replace('_ratio', '_cpu_ratio')}={cpu:.2f}")
            toggles[plugins] = top[f"ours_toggle_{most}"]
    if len(sizes) > 1:
        scaling = toggles[max(sizes)] / max(toggles[min(sizes)], 0.1)
        print(f"toggle_scaling={scaling:.2f}", flush=True)


if __name__ == "__main__":
    main()
