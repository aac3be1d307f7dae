"""The baseline of the HTTP benches: a bare aiohttp app answering stored bytes per path.

Usage: ``python bench/bare_server.py PORT BODIES.json`` (``{path: body text}``)."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
from aiohttp import web


def main() -> None:
    port, bodies = int(sys.argv[1]), orjson.loads(Path(sys.argv[2]).read_bytes())
    app = web.Application()
    for path, text in bodies.items():
        body = text.encode()

        async def answer(request: web.Request, body: bytes = body) -> web.Response:
            return web.Response(body=body, content_type="application/json", charset="utf-8")

        app.router.add_get(path, answer)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
