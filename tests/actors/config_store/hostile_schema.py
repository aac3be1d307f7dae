"""A plugin schema that declares secrets everywhere draft 7 can declare a value, and a section."""

from __future__ import annotations

from typing import Any

MASK = "\u2022" * 8

# x-secret under oneOf/anyOf/allOf, additionalProperties, patternProperties, tuple items,
# $ref into definitions, schema dependencies and if/then, nested in one another.
HOSTILE_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "definitions": {
        "secret_string": {"type": "string", "x-secret": True},
        "login": {
            "type": "object",
            "properties": {
                "user": {"type": "string"},
                "pass": {"$ref": "#/definitions/secret_string"},
            },
        },
    },
    "properties": {
        "label": {"type": "string"},
        "one": {"oneOf": [{"type": "string", "x-secret": True}, {"type": "integer"}]},
        "any": {"anyOf": [{"type": "null"}, {"type": "string", "x-secret": True}]},
        "all": {"allOf": [{"type": "string"}, {"x-secret": True}]},
        "tokens": {"type": "object", "additionalProperties": {"type": "string", "x-secret": True}},
        "headers": {
            "type": "object",
            "properties": {"accept": {"type": "string"}},
            "patternProperties": {"^x-auth-": {"type": "string", "x-secret": True}},
            "additionalProperties": {"type": "string"},
        },
        "login": {"$ref": "#/definitions/login"},
        "servers": {
            "type": "array",
            "items": {
                "anyOf": [
                    {
                        "type": "object",
                        "properties": {
                            "host": {"type": "string"},
                            "key": {"$ref": "#/definitions/secret_string"},
                        },
                    }
                ]
            },
        },
        "nested": {
            "type": "object",
            "properties": {
                "deep": {
                    "allOf": [
                        {
                            "type": "object",
                            "additionalProperties": {
                                "oneOf": [
                                    {
                                        "type": "object",
                                        "properties": {
                                            "name": {"type": "string"},
                                            "pw": {"type": "string", "x-secret": True},
                                        },
                                    }
                                ]
                            },
                        }
                    ]
                }
            },
        },
        "pair": {
            "type": "array",
            "items": [{"type": "string"}, {"type": "string", "x-secret": True}],
        },
        "root_secret": {"type": "string"},
        "use_proxy": {"type": "boolean"},
        "proxy_password": {"type": "string"},
        "mode": {"type": "string"},
        "mode_value": {"type": "string"},
    },
    "allOf": [{"properties": {"root_secret": {"x-secret": True}}}],
    "dependencies": {"use_proxy": {"properties": {"proxy_password": {"x-secret": True}}}},
    "if": {"properties": {"mode": {"const": "token"}}},
    "then": {"properties": {"mode_value": {"x-secret": True}}},
    "additionalProperties": False,
}

SECRET = "hunter2-SECRET"


def secret(n: int) -> str:
    return f"{SECRET}-{n}"


# A section as a user posts it, and how it splits, masks and is stored.
SECTION: dict[str, Any] = {
    "label": "visible",
    "one": secret(1),
    "any": secret(2),
    "all": secret(3),
    "tokens": {"github": secret(4), "gitlab": secret(5)},
    "headers": {"accept": "json", "x-auth-token": secret(6), "x-trace": "t1"},
    "login": {"user": "me", "pass": secret(7)},
    "servers": [{"host": "a", "key": secret(8)}, {"host": "b"}],
    "nested": {"deep": {"db": {"name": "main", "pw": secret(9)}}},
    "pair": ["left", secret(10)],
    "root_secret": secret(11),
    "use_proxy": True,
    "proxy_password": secret(12),
    "mode": "token",
    "mode_value": secret(13),
}
SECRET_COUNT = 13

CLEAR_PART: dict[str, Any] = {
    "label": "visible",
    "tokens": {},
    "headers": {"accept": "json", "x-trace": "t1"},
    "login": {"user": "me"},
    "servers": [{"host": "a"}, {"host": "b"}],
    "nested": {"deep": {"db": {"name": "main"}}},
    "use_proxy": True,
    "mode": "token",
}

SECRET_PART: dict[str, Any] = {
    "one": secret(1),
    "any": secret(2),
    "all": secret(3),
    "tokens": {"github": secret(4), "gitlab": secret(5)},
    "headers": {"x-auth-token": secret(6)},
    "login": {"pass": secret(7)},
    "servers": [{"key": secret(8)}, {}],
    "nested": {"deep": {"db": {"pw": secret(9)}}},
    "pair": ["left", secret(10)],  # a tuple item is secret: the whole list is kept secret
    "root_secret": secret(11),
    "proxy_password": secret(12),
    "mode_value": secret(13),
}

MASKED: dict[str, Any] = {
    "label": "visible",
    "one": MASK,
    "any": MASK,
    "all": MASK,
    "tokens": {"github": MASK, "gitlab": MASK},
    "headers": {"accept": "json", "x-auth-token": MASK, "x-trace": "t1"},
    "login": {"user": "me", "pass": MASK},
    "servers": [{"host": "a", "key": MASK}, {"host": "b"}],
    "nested": {"deep": {"db": {"name": "main", "pw": MASK}}},
    "pair": MASK,
    "root_secret": MASK,
    "use_proxy": True,
    "proxy_password": MASK,
    "mode": "token",
    "mode_value": MASK,
}
