"""The dashboard's own files (web/dashboard/), read once when the app is created.

The one module of web/ that reads a file: only those shipped beside it, never --data-dir
(tests/web/test_web_boundary.py names it as the wall's single, reasoned exception).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "dashboard"
CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
}


@dataclass(frozen=True, slots=True)
class Asset:
    """One file as served: its bytes, content type and a strong ETag of its content."""

    body: bytes
    content_type: str
    etag: str


def load_assets(folder: Path = FOLDER) -> dict[str, Asset]:
    """Every servable file of ``folder`` by name (flat: the dashboard has no subfolders)."""
    assets: dict[str, Asset] = {}
    for path in sorted(folder.iterdir()):
        content_type = CONTENT_TYPES.get(path.suffix)
        if content_type is None or not path.is_file():
            continue
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        assets[path.name] = Asset(body, content_type, etag)
    if "index.html" not in assets:
        raise RuntimeError(f"the dashboard is missing its index.html in {folder}")
    return assets
