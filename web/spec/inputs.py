"""Declarative input specs: each reads one part of a request and describes it as JSON Schema.

A route's body fields, query parameters and path parameters are declared once (in
``web.spec.operations``); its handler validates input by calling ``read`` on them, and the
OpenAPI document is generated from the same objects (``schema`` / ``parameter``). The reading
rules are those of ``web.http``: ``field`` for body fields, ``query_param`` and friends for the
query string, so error codes, messages and ``context.field`` do not depend on which is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from actors.errors import invalid_input
from web.http import field as read_field
from web.http import query_bool, query_int, query_param

# A check takes a present value (already of the right type) and returns the value to use,
# or raises a PlugvisorError (400 INVALID_INPUT with context.field, 404 for unknown ids, ...).
Check = Callable[[Any], Any]

_JSON_TYPES: dict[type, str] = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    dict: "object",
    list: "array",
}


def _types(kind: type | tuple[type, ...]) -> list[str]:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = [_JSON_TYPES[k] for k in kinds]
    if "number" in names and "integer" in names:  # JSON Schema's number includes integers
        names.remove("integer")
    return names


def _type_keyword(names: list[str]) -> str | list[str]:
    return names[0] if len(names) == 1 else names


@dataclass(frozen=True)
class Field:
    """One member of a JSON object body.

    Read as ``web.http.field`` reads it (an optional field sent as ``null`` reads as absent,
    except a boolean), then ``check`` is applied to a present value. ``schema`` adds JSON Schema
    keywords (limits, patterns, examples) that describe what ``check`` accepts.
    """

    name: str
    kind: type | tuple[type, ...]
    required: bool = True
    default: Any = None
    check: Check | None = None
    description: str = ""
    schema: Mapping[str, Any] = field(default_factory=dict)

    def read(self, body: dict[str, Any]) -> Any:
        value = read_field(body, self.name, self.kind, required=self.required, default=self.default)
        if self.check is not None and body.get(self.name) is not None:
            value = self.check(value)
        return value

    def json_schema(self) -> dict[str, Any]:
        names = _types(self.kind)
        if not self.required and "boolean" not in names:
            names = [*names, "null"]  # an optional field sent as null reads as absent
        out: dict[str, Any] = {"type": _type_keyword(names)}
        if self.description:
            out["description"] = self.description
        if self.default is not None:
            out["default"] = self.default
        out.update(self.schema)
        return out


@dataclass(frozen=True)
class Body:
    """A JSON object body and the fields a handler reads from it, in order.

    ``closed``: members other than the fields are refused (400, the first unknown one named).
    ``optional``: an empty body reads as ``{}`` (the handler passes ``optional=True`` to
    ``read_json_object``). ``extra``: JSON Schema keywords for the object as a whole (members
    that the actors, not the handler, check).
    """

    fields: tuple[Field, ...] = ()
    closed: bool = False
    optional: bool = False
    description: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def read(self, body: dict[str, Any]) -> dict[str, Any]:
        """Every field's value by name, each checked in declaration order."""
        if self.closed:
            unknown = sorted(set(body) - {f.name for f in self.fields})
            if unknown:
                raise invalid_input(f"Unknown field '{unknown[0]}'", field=unknown[0])
        return {f.name: f.read(body) for f in self.fields}

    def json_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "object"}
        if self.fields:
            out["properties"] = {f.name: f.json_schema() for f in self.fields}
        required = [f.name for f in self.fields if f.required]
        if required:
            out["required"] = required
        if self.closed:
            out["additionalProperties"] = False
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class Upload:
    """A multipart/form-data body with one file field (read by the handler as a stream)."""

    name: str
    description: str

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                self.name: {
                    "type": "string",
                    "contentMediaType": "application/octet-stream",
                    "description": self.description,
                }
            },
            "required": [self.name],
        }


@dataclass(frozen=True)
class QueryText:
    """A query parameter read as text: given at most once; empty reads as absent.

    ``required``: absent or empty is refused with ``missing``'s message. ``max_length``: longer
    is refused as too long. ``check`` is applied to a present value.
    """

    name: str
    required: bool = False
    max_length: int | None = None
    check: Check | None = None
    description: str = ""
    schema: Mapping[str, Any] = field(default_factory=dict)

    def read(self, request: web.Request) -> Any:
        value = query_param(request, self.name) or None
        if value is None:
            if self.required:
                message = f"Missing required query parameter '{self.name}'"
                raise invalid_input(message, field=self.name)
            return None
        if self.max_length is not None and len(value) > self.max_length:
            raise invalid_input(f"Query parameter '{self.name}' is too long", field=self.name)
        return value if self.check is None else self.check(value)

    def parameter(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        if self.required:
            schema["minLength"] = 1
        schema.update(self.schema)
        if not self.required and len(schema) > 1:
            schema = _or_empty(schema)
        return _parameter("query", self.name, self.description, schema, self.required)


@dataclass(frozen=True)
class QueryChoice:
    """A query parameter that is one of ``choices`` (empty reads as absent: ``default``)."""

    name: str
    choices: frozenset[str]
    default: str | None = None
    description: str = ""

    def read(self, request: web.Request) -> str | None:
        value = query_param(request, self.name) or None
        if value is None:
            return self.default
        if value not in self.choices:
            raise invalid_input(
                f"Query parameter '{self.name}' must be one of: {', '.join(sorted(self.choices))}",
                field=self.name,
            )
        return value

    def parameter(self) -> dict[str, Any]:
        schema = _or_empty({"type": "string", "enum": sorted(self.choices)})
        return _parameter("query", self.name, self.description, schema, False)


# true/false in any case, 1 or 0, or empty (the default), as web.http.query_bool reads them
_FLAG_PATTERN = "^(|[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0)$"


@dataclass(frozen=True)
class QueryFlag:
    """A boolean query parameter: ``true``/``1`` or ``false``/``0`` (any case); empty: default."""

    name: str
    description: str = ""
    default: bool = False

    def read(self, request: web.Request) -> bool:
        return query_bool(request, self.name, self.default)

    def parameter(self) -> dict[str, Any]:
        schema = {"type": "string", "pattern": _FLAG_PATTERN, "default": "false"}
        return _parameter("query", self.name, self.description, schema, False)


@dataclass(frozen=True)
class QueryInt:
    """A decimal integer query parameter from ``low`` to ``high`` (plain digits only).

    With ``default=None`` an absent parameter reads as ``None``; a present one must be valid.
    """

    name: str
    low: int
    high: int
    default: int | None = None
    description: str = ""

    def read(self, request: web.Request) -> int | None:
        if self.default is None and query_param(request, self.name) is None:
            return None
        fallback = self.low if self.default is None else self.default
        return query_int(request, self.name, fallback, self.low, self.high)

    def parameter(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer", "minimum": self.low, "maximum": self.high}
        if self.default is not None:
            schema["default"] = self.default
        return _parameter("query", self.name, self.description, schema, False)


@dataclass(frozen=True)
class PathParam:
    """A ``{name}`` segment of a route's path, checked by ``check`` (which may also convert)."""

    name: str
    check: Check | None = None
    description: str = ""
    schema: Mapping[str, Any] = field(default_factory=dict)

    def read(self, request: web.Request) -> Any:
        value = request.match_info[self.name]
        return value if self.check is None else self.check(value)

    def parameter(self) -> dict[str, Any]:
        schema = {"type": "string", **self.schema}
        return _parameter("path", self.name, self.description, schema, True)


QueryParam = QueryText | QueryChoice | QueryFlag | QueryInt


def _or_empty(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional text parameter given empty reads as absent: "" is accepted too."""
    return {"anyOf": [{"type": "string", "maxLength": 0}, schema]}


def _parameter(
    where: str, name: str, description: str, schema: dict[str, Any], required: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "in": where, "required": required, "schema": schema}
    if description:
        out["description"] = description
    return out
