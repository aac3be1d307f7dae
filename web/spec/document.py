"""The OpenAPI 3.1 document, generated from the route table and the input specs handlers use.

Errors: every route that asks an actor can answer 500 (unexpected), 503 (not ready, a
component restarting, the registry unreachable with no copy), 504 (an actor did not answer in
time), 401 (a token is configured and missing or wrong), 403 (web/access.py: a cross-origin
write, or a non-loopback Host without a token) and 405 (another method); routes that take
input 400; routes that read a body 413. Route-specific ones (404, 409, 412, 502, 507) are
listed in the table.
"""

from __future__ import annotations

from typing import Any

from web.routes.health import VERSION as API_VERSION
from web.spec.inputs import Body, Upload
from web.spec.operations import ROUTES, Answer, Route
from web.spec.schemas import COMPONENTS, ref, success_envelope

JSON = "application/json"

ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Invalid input (INVALID_INPUT with context.field) or failed validation",
    401: "A token is configured and the request lacks it or carries a wrong one, or the "
    "address sent too many wrong ones (UNAUTHORIZED, with Retry-After)",
    403: "A write or WebSocket handshake from another site's page, or, with no token "
    "configured, a Host that is not a loopback name (FORBIDDEN)",
    404: "Unknown plugin, operation or backup",
    405: "The path does not take this method (METHOD_NOT_ALLOWED, with Allow)",
    409: "Conflicts with an operation (PLUGIN_OPERATION_CONFLICT)",
    412: "If-Match names an older version (CONFIG_CONFLICT)",
    413: "The body is over the limit: 1 MiB, archives 50 MiB (PAYLOAD_TOO_LARGE)",
    500: "Unexpected failure",
    502: "A source could not be fetched (NETWORK_ERROR), with ?wait=true",
    503: "Not ready, a component restarting, or the registry unreachable with no copy",
    504: "A component did not answer in time (TIMEOUT)",
    507: "The data partition is full (INSUFFICIENT_STORAGE)",
}


def error_statuses(route: Route) -> set[int]:
    """Every error status ``route`` can answer (see the module docstring)."""
    statuses = {405, *route.errors}
    if route.public:
        return statuses
    statuses |= {401, 500, 503}
    if not route.feed:
        statuses.add(504)
    statuses.add(403)
    if route.body is not None or route.query or route.path_params or route.feed:
        statuses.add(400)
    if route.body is not None:
        statuses.add(413)
    return statuses


def _error_response(status: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": ERROR_DESCRIPTIONS[status],
        "content": {JSON: {"schema": ref("ErrorEnvelope")}},
    }
    if status in (401, 503):
        out["headers"] = {
            "Retry-After": {"description": "Seconds to wait", "schema": {"type": "string"}}
        }
    return out


def _answer(route: Route, answer: Answer) -> dict[str, Any]:
    out: dict[str, Any] = {"description": answer.description}
    if answer.media:
        out["content"] = {media: {"schema": {"type": "string"}} for media in answer.media}
    elif answer.data is not None:
        out["content"] = {JSON: {"schema": success_envelope(answer.data)}}
    elif route.path == "/healthz":
        out["content"] = {"text/plain": {"schema": {"const": "ok"}}}
    elif route.public:  # the document itself
        out["content"] = {JSON: {"schema": {"type": "object", "required": ["openapi"]}}}
    return out


def _responses(route: Route) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for answer in route.answers:
        responses[str(answer.status)] = _answer(route, answer)
    for status in sorted(error_statuses(route)):
        key = str(status)
        if key not in responses:
            responses[key] = {"$ref": f"#/components/responses/Error{status}"}
            continue
        both = responses[key]  # a success body or the error envelope (an unhealthy report)
        success_schema = both["content"][JSON]["schema"]
        both["content"][JSON]["schema"] = {"anyOf": [success_schema, ref("ErrorEnvelope")]}
        both["description"] += "; or " + ERROR_DESCRIPTIONS[status]
    return dict(sorted(responses.items()))


def _request_body(body: Body | Upload) -> dict[str, Any]:
    if isinstance(body, Upload):
        return {
            "required": True,
            "content": {"multipart/form-data": {"schema": body.json_schema()}},
        }
    schema = body.json_schema()
    out: dict[str, Any] = {"required": not body.optional, "content": {JSON: {"schema": schema}}}
    if body.description:
        out["description"] = body.description
    return out


def _operation(route: Route) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": route.name,
        "tags": [route.tag],
        "summary": route.summary,
    }
    parameters = [p.parameter() for p in route.path_params] + [q.parameter() for q in route.query]
    if parameters:
        out["parameters"] = parameters
    if route.body is not None:
        out["requestBody"] = _request_body(route.body)
    out["responses"] = _responses(route)
    if route.public:
        out["security"] = []
    return out


def build_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Plugvisor",
            "version": API_VERSION,
            "description": "Installs, configures and watches LED-matrix plugins. Every error is "
            "the JSON error envelope; queued operations answer 202, or 200 with ?wait=true.",
        },
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": COMPONENTS,
            "responses": {
                f"Error{status}": _error_response(status) for status in ERROR_DESCRIPTIONS
            },
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Needed when a token is configured (auth.token_file); the "
                    "WebSocket may pass ?token= instead",
                }
            },
        },
    }
