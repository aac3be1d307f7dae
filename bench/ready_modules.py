"""The modules a real start has imported once it is READY and has answered the common reads.

Runs run.py's own ``serve`` in this process (same arguments as run.py), waits for ``READY=1``
on a notify socket of its own, for the reconciliation every start runs, and for answers to
``GET /api/v3/plugins/state``, ``/installed`` and ``/api/v3/supervisor/health``; then writes
``sorted(sys.modules)`` as JSON to ``--out`` and stops the server with SIGTERM, as systemd
would.

Usage: ``python bench/ready_modules.py --out modules.json -- <run.py arguments>``.
Used by tests/test_lazy_imports.py, so the lazy imports cannot silently regress.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import orjson  # noqa: E402

import run  # noqa: E402

READS = ("/api/v3/plugins/state", "/api/v3/plugins/installed", "/api/v3/supervisor/health")


async def get(port: int, path: str) -> tuple[int, bytes]:
    """One HTTP/1.1 GET over a raw connection (no client library, so none is imported)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode())
        raw = await reader.read()
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


async def until_ready(sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    while b"READY=1" not in (await loop.sock_recv(sock, 4096)).split(b"\n"):
        pass


async def probe(settings: run.Settings, notify: socket.socket, out: Path) -> int:
    server = asyncio.create_task(run.serve(settings))
    async with asyncio.timeout(60):
        await until_ready(notify)
        for _ in range(600):  # the start's reconciliation has run once health reports it
            status, body = await get(settings.port, "/api/v3/supervisor/health")
            if status in (200, 503) and orjson.loads(body)["data"].get("last_reconcile"):
                break
            await asyncio.sleep(0.05)
        else:
            raise TimeoutError("no reconciliation at start")
        for path in READS:
            status, body = await get(settings.port, path)
            if status != 200 and path not in READS[2:]:  # health may say unhealthy (503)
                raise RuntimeError(f"{path} answered {status}: {body[:200]!r}")
    names = orjson.dumps(sorted(sys.modules))
    await asyncio.to_thread(out.write_bytes, names)
    os.kill(os.getpid(), signal.SIGTERM)
    async with asyncio.timeout(30):
        return await server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("run_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    run_args = args.run_args[1:] if args.run_args[:1] == ["--"] else args.run_args
    settings = run.parse_args(run_args)
    run.configure_logging(settings.log_format)
    with (
        tempfile.TemporaryDirectory(prefix="ready-modules-") as tmp,
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify,
    ):
        notify.bind(str(Path(tmp) / "notify.sock"))
        notify.setblocking(False)
        os.environ["NOTIFY_SOCKET"] = str(Path(tmp) / "notify.sock")
        return asyncio.run(probe(settings, notify, args.out))


if __name__ == "__main__":
    sys.exit(main())
