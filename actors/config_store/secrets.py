"""Secrets by schema (``x-secret``): split a section into clear and secret parts, mask, update."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from actors.errors import ErrorCode, PlugvisorError

from .refs import LazyResolver, follow

MASK = "••••••••"  # 8 x U+2022, what every read path shows instead of a stored secret

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()

Leaf = Callable[[Any], Any]
Resolver = Any  # a ``LazyResolver`` (or where it led): follows ``$ref`` from where a schema sits
MAX_SCHEMA_DEPTH = 64  # subschemas followed from one value (``$ref`` loops end here)


def mask_leaf(value: Any) -> Any:
    return value if value in ("", None) else MASK


def local_resolver(schema: Any) -> Resolver | None:
    """A resolver for the ``$ref``s of ``schema`` into itself (its ``definitions``)."""
    if not isinstance(schema, dict):
        return None
    return LazyResolver(schema)


def marks_secret(schema: Any, resolver: Resolver | None) -> bool:
    """Whether ``schema``, or any subschema that applies to the same value, says ``x-secret``."""
    return _is_secret(_scope([(schema, resolver)]))


def split(schema: Any, value: Any, resolver: Resolver | None = None) -> tuple[Any, Any]:
    """``(clear, secret)`` parts of ``value``; either may be ``MISSING``.

    A value is secret when any schema that applies to it says ``x-secret: true``: the one
    that declares it (``properties``, ``patternProperties``, ``additionalProperties``,
    ``items``, ``additionalItems``, ``contains``) and everything it reaches through ``$ref``,
    ``allOf``/``anyOf``/``oneOf``, ``if``/``then``/``else`` and schema ``dependencies``, every
    branch counted whichever the value matches. A list with a wholly secret item is secret
    whole; other lists keep their secrets as a parallel list.
    """
    return _split([(schema, resolver or local_resolver(schema))], value)


Scope = list[tuple[dict[str, Any], Any]]


def _split(schemas: Scope, value: Any) -> tuple[Any, Any]:
    scope = _scope(schemas)
    if _is_secret(scope):
        return MISSING, value
    if isinstance(value, dict):
        clear: dict[str, Any] = {}
        secret: dict[str, Any] = {}
        for key, item in value.items():
            c, s = _split(_declared(scope, key), item)
            if c is not MISSING:
                clear[key] = c
            if s is not MISSING:
                secret[key] = s
        return clear, (secret or MISSING)
    if isinstance(value, list):
        pairs = [_split(_item_schemas(scope, index), item) for index, item in enumerate(value)]
        if all(s is MISSING for _, s in pairs):
            return value, MISSING
        if any(c is MISSING for c, _ in pairs):
            return MISSING, value
        return [c for c, _ in pairs], [({} if s is MISSING else s) for _, s in pairs]
    return value, MISSING


def _is_secret(scope: Scope) -> bool:
    return any(schema.get("x-secret") is True for schema, _ in scope)


def _scope(schemas: Scope) -> Scope:
    """The given schemas and every subschema that applies to the same value, each once."""
    out: Scope = []
    seen: set[int] = set()
    stack: list[tuple[Any, Any, int]] = [(schema, resolver, 0) for schema, resolver in schemas]
    while stack:
        schema, resolver, depth = stack.pop()
        if not isinstance(schema, dict) or id(schema) in seen or depth > MAX_SCHEMA_DEPTH:
            continue
        seen.add(id(schema))
        out.append((schema, resolver))
        following = [schema.get(key) for key in ("if", "then", "else")]
        for key in ("allOf", "anyOf", "oneOf"):
            branches = schema.get(key)
            following += branches if isinstance(branches, list) else []
        dependencies = schema.get("dependencies")
        if isinstance(dependencies, dict):
            following += list(dependencies.values())  # a list of names is skipped below
        stack += [(sub, resolver, depth + 1) for sub in following]
        ref = schema.get("$ref")
        if isinstance(ref, str) and resolver is not None:
            found = follow(resolver, ref)
            if found is not None:  # else validation refuses the schema; nothing to learn here
                stack.append((*found, depth + 1))
    return out


def _declared(scope: Scope, key: str) -> Scope:
    """The schemas that declare the value of property ``key``, each by its own object's rules."""
    out: Scope = []
    for schema, resolver in scope:
        props = schema.get("properties")
        props = props if isinstance(props, dict) else {}
        found = key in props
        if found:
            out.append((props[key], resolver))
        patterns = schema.get("patternProperties")
        for pattern, sub in (patterns if isinstance(patterns, dict) else {}).items():
            if _matches(pattern, key):
                out.append((sub, resolver))
                found = True
        extra = schema.get("additionalProperties")
        if not found and isinstance(extra, dict):
            out.append((extra, resolver))
    return out


def _matches(pattern: str, key: str) -> bool:
    try:
        return re.search(pattern, key) is not None
    except (re.error, TypeError):
        return True  # a pattern that cannot be read: its secrets still count


def _item_schemas(scope: Scope, index: int) -> Scope:
    out: Scope = []
    for schema, resolver in scope:
        items = schema.get("items")
        if isinstance(items, dict):
            out.append((items, resolver))
        elif isinstance(items, list):
            extra = schema.get("additionalItems")
            if index < len(items):
                out.append((items[index], resolver))
            elif isinstance(extra, dict):
                out.append((extra, resolver))
        contains = schema.get("contains")  # some item matches it, which one is unknown
        if isinstance(contains, dict):
            out.append((contains, resolver))
    return out


def split_section(
    schema: dict[str, Any], section: dict[str, Any], resolver: Resolver | None = None
) -> tuple[dict, dict]:
    clear, secret = split(schema, section, resolver)
    return (clear if clear is not MISSING else {}), (secret if secret is not MISSING else {})


def join(clear: Any, secret: Any, leaf: Leaf = copy.deepcopy) -> Any:
    """Merge the secret part back into a fresh copy of the clear part; ``leaf`` maps each secret."""
    if secret is MISSING or (isinstance(secret, dict) and not secret):  # {}: a list's no-secret
        return copy.deepcopy(clear)
    if isinstance(clear, dict) and isinstance(secret, dict):
        out = copy.deepcopy(clear)
        for key, value in secret.items():
            out[key] = join(clear[key], value, leaf) if key in clear else _leaves(value, leaf)
        return out
    if isinstance(clear, list) and isinstance(secret, list):  # parallel list
        return [
            join(item, secret[i], leaf) if i < len(secret) else copy.deepcopy(item)
            for i, item in enumerate(clear)
        ]
    return _leaves(secret, leaf)


def _leaves(secret: Any, leaf: Leaf) -> Any:
    if isinstance(secret, dict) and secret and leaf is not copy.deepcopy:
        return {key: _leaves(value, leaf) for key, value in secret.items()}
    return leaf(secret)


def masked(
    schema: dict[str, Any],
    clear: dict[str, Any],
    secret: dict[str, Any],
    resolver: Resolver | None = None,
) -> dict:
    """The section as every read path shows it: stored secrets and schema secrets masked."""
    view = join(clear, secret or MISSING, mask_leaf)
    clear2, secret2 = split(schema, view, resolver)  # a schema secret still stored in clear text
    return join(clear2 if clear2 is not MISSING else {}, secret2, mask_leaf)


def contains_mask(value: Any) -> bool:
    if value == MASK:
        return True
    if isinstance(value, dict):
        return any(contains_mask(item) for item in value.values())
    if isinstance(value, list):
        return any(contains_mask(item) for item in value)
    return False


def apply_update(stored: Any, shown: Any, posted: Any, path: str = "") -> Any:
    """Deep-merge ``posted`` onto ``stored`` (the section with its secrets) and return a new value.

    ``null`` removes a key (a secret is cleared, a setting falls back to its default); a
    masked value keeps the stored one; arrays are replaced. A mask inside an array item is
    kept only when the item is unchanged from ``shown`` (what a read showed), since indices
    alone cannot say which secret an edited list item should keep.
    """
    base = stored if isinstance(stored, dict) else {}
    seen = shown if isinstance(shown, dict) else {}
    out = dict(base)
    errors: list[dict[str, str]] = []
    for key, value in posted.items():
        where = f"{path}/{_escape(key)}"
        if value is None:
            out.pop(key, None)
        elif value == MASK:
            if key not in base:
                out.pop(key, None)
        elif isinstance(value, dict):
            try:
                out[key] = apply_update(base.get(key), seen.get(key), value, where)
            except PlugvisorError as exc:
                errors.extend(exc.context["validation_errors"])
        elif isinstance(value, list):
            out[key] = _apply_list(base.get(key), seen.get(key), value, where, errors)
        else:
            out[key] = copy.deepcopy(value)
    if errors:
        raise masked_in_list_error(errors)
    return out


def _apply_list(stored: Any, shown: Any, posted: list, path: str, errors: list) -> list:
    stored = stored if isinstance(stored, list) else []
    shown = shown if isinstance(shown, list) else []
    out = []
    for index, item in enumerate(posted):
        if not contains_mask(item):
            out.append(copy.deepcopy(item))
        elif index < len(stored) and index < len(shown) and shown[index] == item:
            out.append(copy.deepcopy(stored[index]))
        else:
            errors.append(
                {
                    "path": f"{path}/{index}",
                    "message": "keeps a masked secret but the list item changed; send the"
                    " secret again, or null to clear it",
                }
            )
    return out


def masked_in_list_error(errors: list[dict[str, str]]) -> PlugvisorError:
    return PlugvisorError(
        ErrorCode.CONFIG_VALIDATION_FAILED,
        "Configuration validation failed",
        context={"validation_errors": errors},
    )


def _escape(key: str) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")
