"""JSON Schema draft 7 validation: every error at its JSON pointer, never echoing a value."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import orjson

from actors.errors import ErrorCode, PlugvisorError

from .refs import LazyResolver, follow
from .secrets import marks_secret

if TYPE_CHECKING:
    from jsonschema import ValidationError

# LEDMatrix core properties: allowed in every plugin section whatever its schema says.
CORE_PROPERTIES: dict[str, dict[str, Any]] = {
    "enabled": {"type": "boolean", "default": True},
    "display_duration": {"type": "number", "minimum": 1, "maximum": 3600, "default": 15},
    "live_priority": {"type": "boolean", "default": False},
    "skin": {"type": ["string", "object", "null"]},
    "skin_options": {"type": "object"},
}

_TYPE_NAMES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


Registry = tuple[tuple[str, dict[str, Any]], ...]  # (``$id``, schema) pairs a ``$ref`` may name


class Checker:
    """A schema: lists every error by path, fills defaults (following ``$ref``).

    ``jsonschema`` is imported when the schema is checked (at construction, unless
    ``trusted``: a schema this program ships or builds) or an instance is validated;
    ``referencing`` when a ``$ref`` is followed. Filling defaults from a schema without
    ``$ref`` loads neither.
    """

    def __init__(
        self, schema: dict[str, Any], registry: Registry = (), *, trusted: bool = False
    ) -> None:
        if not trusted:
            check_schema(schema)
        self.schema = schema
        self._registry = registry
        self._validator: Any = None
        # the schema itself is the root: its own "#/definitions/..." references resolve too
        self.resolver = LazyResolver(schema, registry)

    def errors(self, instance: Any) -> list[dict[str, str]]:
        if self._validator is None:
            from jsonschema import Draft7Validator

            kwargs: dict[str, Any] = {}
            if self._registry:
                from referencing import Registry as Refs
                from referencing import Resource

                kwargs["registry"] = Refs().with_resources(
                    (uri, Resource.from_contents(doc)) for uri, doc in self._registry
                )
            self._validator = Draft7Validator(self.schema, **kwargs)
        return format_errors(self._validator.iter_errors(instance))

    def fill_defaults(self, value: Any, *, secrets: bool = False) -> Any:
        """A copy of ``value`` with schema defaults for missing keys.

        Secret properties get theirs only with ``secrets=True`` (for validation, as LEDMatrix
        does: a placeholder default satisfies ``required``); a read never shows them.
        """
        return _fill(self.schema, value, self.resolver, secrets)


def check_schema(schema: dict[str, Any]) -> None:
    """Raise ``CONFIG_VALIDATION_FAILED`` unless ``schema`` is valid JSON Schema (draft 7)."""
    from jsonschema import Draft7Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft7Validator.check_schema(schema)
    except SchemaError as exc:
        raise PlugvisorError(
            ErrorCode.CONFIG_VALIDATION_FAILED,
            "The configuration schema itself is not valid JSON Schema (draft 7)",
            details=exc.message[:300],
        ) from None


def plugin_schema(raw: dict[str, Any] | None) -> dict[str, Any]:
    """The schema a plugin section is validated against: the plugin's, plus the core properties.

    Without a schema file only the core properties are checked and any other key is accepted.
    """
    if raw is None:
        return {"type": "object", "properties": copy.deepcopy(CORE_PROPERTIES)}
    schema = copy.deepcopy(raw)
    props = schema.setdefault("properties", {})
    if isinstance(props, dict):
        for name, spec in CORE_PROPERTIES.items():
            props.setdefault(name, copy.deepcopy(spec))
    required = schema.get("required")
    if isinstance(required, list):
        schema["required"] = [name for name in required if name not in CORE_PROPERTIES]
    return schema


def validation_failed(errors: list[dict[str, str]], **context: Any) -> PlugvisorError:
    return PlugvisorError(
        ErrorCode.CONFIG_VALIDATION_FAILED,
        "Configuration validation failed",
        details="; ".join(f"{e['path'] or '/'}: {e['message']}" for e in errors[:20]),
        context={**context, "validation_errors": errors},
    )


def pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def format_errors(errors: Iterable[ValidationError]) -> list[dict[str, str]]:
    found: dict[tuple[str, str], None] = {}
    for error in errors:
        for path, message in _describe(error):
            found[(path, message)] = None
    return [{"path": path, "message": message} for path, message in sorted(found)]


def _describe(error: ValidationError) -> list[tuple[str, str]]:
    base = pointer(error.absolute_path)
    kind, expected, instance = error.validator, error.validator_value, error.instance
    if kind == "required":
        missing = [name for name in expected if isinstance(instance, dict) and name not in instance]
        return [(f"{base}/{name}", "is required") for name in missing]
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = set(error.schema.get("properties") or {})
        patterns = list(error.schema.get("patternProperties") or {})
        extra = [k for k in instance if k not in allowed and not _matches_any(k, patterns)]
        return [(pointer([*error.absolute_path, key]), "is not an allowed key") for key in extra]
    return [(base, _message(kind, expected, error))]


def _matches_any(key: str, patterns: list[str]) -> bool:
    return any(re.search(pattern, key) for pattern in patterns)


def _message(kind: str, expected: Any, error: ValidationError) -> str:
    if kind == "type":
        names = expected if isinstance(expected, list) else [expected]
        return "must be " + " or ".join(_TYPE_NAMES.get(n, str(n)) for n in names)
    texts = {
        "enum": lambda: f"must be one of {_json(expected)}",
        "const": lambda: f"must be {_json(expected)}",
        "minimum": lambda: f"must be at least {expected}",
        "maximum": lambda: f"must be at most {expected}",
        "exclusiveMinimum": lambda: f"must be greater than {expected}",
        "exclusiveMaximum": lambda: f"must be less than {expected}",
        "multipleOf": lambda: f"must be a multiple of {expected}",
        "minLength": lambda: f"must be at least {expected} characters long",
        "maxLength": lambda: f"must be at most {expected} characters long",
        "pattern": lambda: f"must match the pattern {expected}",
        "format": lambda: f"must be a valid {expected}",
        "minItems": lambda: f"must have at least {expected} items",
        "maxItems": lambda: f"must have at most {expected} items",
        "uniqueItems": lambda: "must not contain duplicate items",
        "minProperties": lambda: f"must have at least {expected} keys",
        "maxProperties": lambda: f"must have at most {expected} keys",
        "anyOf": lambda: "does not match any of the allowed forms",
        "oneOf": lambda: "must match exactly one of the allowed forms",
        "not": lambda: "is not allowed here",
        "contains": lambda: "must contain a matching item",
        "dependencies": lambda: "misses a property it depends on",
        "propertyNames": lambda: "has a key that is not allowed",
        "false": lambda: "is not allowed",
    }
    return texts.get(kind, lambda: f"is invalid ({kind})")()


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _fill(schema: Any, value: Any, resolver: Any, secrets: bool) -> Any:
    schema, resolver = _resolve(schema, resolver)
    if not isinstance(schema, dict):
        return value
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_fill(schema["items"], item, resolver, secrets) for item in value]
    if not isinstance(value, dict):
        return value
    out = dict(value)
    for key, sub in (schema.get("properties") or {}).items():
        sub, sub_resolver = _resolve(sub, resolver)
        if not isinstance(sub, dict) or (not secrets and marks_secret(sub, sub_resolver)):
            continue
        if key in out:
            out[key] = _fill(sub, out[key], sub_resolver, secrets)
        elif "default" in sub:
            out[key] = _fill(sub, copy.deepcopy(sub["default"]), sub_resolver, secrets)
        elif isinstance(sub.get("properties"), dict):
            nested = _fill(sub, {}, sub_resolver, secrets)
            if nested:
                out[key] = nested
    return out


def _resolve(schema: Any, resolver: Any) -> tuple[Any, Any]:
    """Follow ``$ref`` (keeping sibling keys such as ``default``) for filling defaults."""
    if not isinstance(schema, dict) or "$ref" not in schema:
        return schema, resolver
    found = follow(resolver, schema["$ref"])
    if found is None:
        return schema, resolver
    target, there = found
    siblings = {k: v for k, v in schema.items() if k != "$ref"}
    return ({**target, **siblings} if isinstance(target, dict) else target), there


def registry_of(*schemas: dict[str, Any]) -> Registry:
    return tuple((schema["$id"], schema) for schema in schemas)
