"""GET /api/v3/openapi.json: a valid OpenAPI 3.1 document, in step with the routes and handlers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from actors.errors import ErrorCode
from tests.web.plugin_env import RunningApi, make_env
from web.spec.document import build_document

QUEUED_PATHS = (
    "/api/v3/plugins/install",
    "/api/v3/plugins/install-from-url",
    "/api/v3/plugins/install-archive",
    "/api/v3/plugins/update",
    "/api/v3/plugins/uninstall",
)


def routed(app: web.Application) -> set[tuple[str, str]]:
    """Every (METHOD, path) the app answers; the HEAD that aiohttp adds beside a GET is left out."""
    found = set()
    for resource in app.router.resources():
        methods = {route.method for route in resource}
        for method in methods:
            if method == "HEAD" and "GET" in methods:
                continue
            found.add((method, resource.canonical))
    return found


def documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }


def mismatch(app: web.Application, document: dict[str, Any]) -> dict[str, set[tuple[str, str]]]:
    return {
        "undocumented": routed(app) - documented(document),
        "not_routed": documented(document) - routed(app),
    }


@pytest.fixture
async def api(tmp_path: Path):
    async with RunningApi(make_env(tmp_path).settings()) as running:
        yield running


async def served_document(api: RunningApi) -> dict[str, Any]:
    assert api.client is not None
    response = await api.client.get("/api/v3/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    return await response.json()


async def test_the_served_document_is_valid_openapi_3_1(api: RunningApi) -> None:
    document = await served_document(api)
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on any violation of the OpenAPI 3.1 schema
    assert document == build_document()


def test_the_validator_refuses_a_broken_document() -> None:
    document = build_document()
    document["paths"]["/api/v3/plugins/toggle"]["post"]["responses"] = "none"
    with pytest.raises(OpenAPIValidationError):
        validate(document)


async def test_every_route_is_documented_and_every_documented_path_is_routed(
    api: RunningApi,
) -> None:
    assert api.client is not None
    app = api.client.server.app
    assert mismatch(app, await served_document(api)) == {"undocumented": set(), "not_routed": set()}


def test_the_comparison_sees_a_route_without_a_path_and_a_path_without_a_route() -> None:
    app = web.Application()

    async def handler(request: web.Request) -> web.Response:
        return web.Response()

    app.router.add_get("/api/v3/plugins/toggle", handler)  # documented as POST only
    app.router.add_post("/api/v3/plugins/toggle", handler)
    found = mismatch(app, build_document())
    assert ("GET", "/api/v3/plugins/toggle") in found["undocumented"]
    assert ("POST", "/api/v3/config/main") in found["not_routed"]
    assert ("POST", "/api/v3/plugins/toggle") not in found["not_routed"]


async def test_a_missing_required_body_field_is_the_one_the_document_names_first(
    api: RunningApi,
) -> None:
    """The handlers read through the same specs: an empty object is refused for the first
    required member the document lists, with context.field naming it."""
    document = build_document()
    checked = 0
    for path, operations in document["paths"].items():
        post = operations.get("post", {})
        content = post.get("requestBody", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema", {})
        if not schema.get("required"):
            continue
        concrete = path.replace("{plugin_id}", "clock")
        status, body = await api.post(concrete, {})
        assert status == 400, (path, body)
        assert body["error_code"] == "INVALID_INPUT"
        assert body["context"]["field"] == schema["required"][0], path
        checked += 1
    assert checked >= 8


async def test_queued_operations_document_the_receipt_and_the_waited_record(
    api: RunningApi,
) -> None:
    document = await served_document(api)
    for path in QUEUED_PATHS:
        operation = document["paths"][path]["post"]
        assert {"200", "202"} <= set(operation["responses"]), path
        assert "wait" in {p["name"] for p in operation["parameters"]}, path
    receipt = document["components"]["schemas"]["OperationReceipt"]
    assert set(receipt["required"]) == {"operation_id", "status", "position", "deduplicated"}


async def test_the_error_envelope_lists_every_error_code(api: RunningApi) -> None:
    document = await served_document(api)
    envelope = document["components"]["schemas"]["ErrorEnvelope"]
    assert envelope["properties"]["error_code"]["enum"] == [code.value for code in ErrorCode]
    for name, response in document["components"]["responses"].items():
        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}, name
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert "405" in operation["responses"], (method, path)
            if path.startswith("/api/v3/") and path != "/api/v3/openapi.json":
                assert {"401", "500", "503"} <= set(operation["responses"]), (method, path)
            if method == "post":
                assert {"403", "413"} & set(operation["responses"]), path


async def test_a_bearer_scheme_guards_the_api_but_not_the_document_or_liveness(
    api: RunningApi,
) -> None:
    document = await served_document(api)
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert document["security"] == [{"bearer": []}]
    assert document["paths"]["/api/v3/openapi.json"]["get"]["security"] == []
    assert document["paths"]["/healthz"]["get"]["security"] == []
    assert "security" not in document["paths"]["/api/v3/plugins/install"]["post"]


async def test_with_a_token_the_document_is_open_and_an_operation_answers_its_documented_401(
    tmp_path: Path,
) -> None:
    env = make_env(tmp_path)
    settings = env.settings(token_file=str(tmp_path / "secret" / "token"))
    async with RunningApi(settings) as api:
        assert api.client is not None
        document = await served_document(api)  # no Authorization header
        response = await api.client.get("/api/v3/plugins/installed")
        assert response.status == 401
        body = await response.json()
        assert body["error_code"] == "UNAUTHORIZED"
        operation = document["paths"]["/api/v3/plugins/installed"]["get"]
        assert operation["responses"]["401"] == {"$ref": "#/components/responses/Error401"}
        assert "security" not in operation  # the document-wide bearer requirement applies
