"""The dashboard's files over a real server: served from memory with their types, ETags and
security headers, every module they import present, and nothing fetched from elsewhere."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from web.dashboard_assets import FOLDER, load_assets

IMPORT = re.compile(r"""^import .* from "\./([a-z_]+\.js)";$""", re.MULTILINE)


async def test_the_page_and_its_files_are_served_without_a_token(client: TestClient) -> None:
    response = await client.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert '<script type="module" src="/dashboard/app.js"></script>' in page
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
        asset = await client.get(f"/dashboard/{name}")
        assert (asset.status, asset.content_type) == (200, kind), name
        assert await asset.read() == (FOLDER / name).read_bytes()


async def test_an_unchanged_file_answers_304(client: TestClient) -> None:
    first = await client.get("/dashboard/app.js")
    etag = first.headers["ETag"]
    again = await client.get("/dashboard/app.js", headers={"If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""


async def test_an_unknown_file_is_a_404_envelope(client: TestClient) -> None:
    for path in ("/dashboard/missing.js", "/dashboard/..%2Frun.py", "/dashboard/"):
        response = await client.get(path)
        assert response.status == 404, path
        body = await response.json()
        assert body["status"] == "error" and body["error_code"] == "NOT_FOUND", path


def test_every_imported_module_ships_and_nothing_comes_from_elsewhere() -> None:
    assets = load_assets()
    scripts = {name: a.body.decode() for name, a in assets.items() if name.endswith(".js")}
    assert "app.js" in scripts
    for name, text in scripts.items():
        for target in IMPORT.findall(text):
            assert target in assets, f"{name} imports {target}, which is not served"
    for name, asset in assets.items():
        text = asset.body.decode()
        assert not re.search(r"(src|href)=\"(https?:)?//", text), name  # no CDN, no remote file
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text, name
        assert "eval(" not in text, name
