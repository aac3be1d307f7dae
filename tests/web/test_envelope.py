"""Every error leaves as the v3 envelope, the framework's own 404/405/413 included."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from actors.system import System
from web.app import create_app


async def test_unknown_path_is_enveloped_404(client: TestClient) -> None:
    response = await client.get("/api/v3/nothing-here")
    assert response.status == 404
    assert await response.json() == {
        "status": "error",
        "error_code": "NOT_FOUND",
        "error_category": "system",
        "message": "No such resource",
        "context": {"path": "/api/v3/nothing-here"},
    }


async def test_wrong_method_is_enveloped_405(client: TestClient) -> None:
    response = await client.post("/healthz")
    assert response.status == 405
    assert await response.json() == {
        "status": "error",
        "error_code": "METHOD_NOT_ALLOWED",
        "error_category": "system",
        "message": "Method not allowed on this resource",
        "context": {"path": "/healthz", "allowed_methods": ["GET", "HEAD"]},
    }
    assert response.headers["Allow"] == "GET, HEAD"


async def test_healthz_answers_ok(client: TestClient) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.text() == "ok"


async def test_unexpected_exception_is_enveloped_500_without_details(
    running_system: System,
) -> None:
    async def explode(request: web.Request) -> web.Response:  # a handler with a bug
        raise RuntimeError("/srv/secret/path leaked?")

    app = create_app(running_system)
    app.router.add_get("/boom", explode)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        response = await client.get("/boom")
        assert response.status == 500
        assert await response.json() == {
            "status": "error",
            "error_code": "UNKNOWN_ERROR",
            "error_category": "unknown",
            "message": "An unexpected error occurred",
        }
