"""Secrets by schema (``x-secret``): split a section into clear and secret parts, mask, update."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from actors.errors import ErrorCode, PlugvisorError

MASK = "••••••••"  # 8 x U+2022, what every read path shows instead of a stored secret

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()

Leaf = Callable[[Any], Any]


def mask_leaf(value: Any) -> Any:
    return value if value in ("", None) else MASK


def _is_secret(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("x-secret") is True


def split(schema: Any, value: Any) -> tuple[Any, Any]:
    """``(clear, secret)`` parts of ``value``; either may be ``MISSING``."""
    if not isinstance(schema, dict):
        return value, MISSING
    if _is_secret(schema):
        return MISSING, value
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        clear: dict[str, Any] = {}
        secret: dict[str, Any] = {}
        for key, item in value.items():
            c, s = split(props.get(key), item)
            if c is not MISSING:
                clear[key] = c
            if s is not MISSING:
                secret[key] = s
        return clear, (secret or MISSING)
    items = schema.get("items")
    if isinstance(value, list) and isinstance(items, dict):
        if _is_secret(items):
            return MISSING, value
        pairs = [split(items, item) for item in value]
        if all(s is MISSING for _, s in pairs):
            return value, MISSING
        return [c for c, _ in pairs], [({} if s is MISSING else s) for _, s in pairs]
    return value, MISSING


def split_section(schema: dict[str, Any], section: dict[str, Any]) -> tuple[dict, dict]:
    clear, secret = split(schema, section)
    return (clear if clear is not MISSING else {}), (secret if secret is not MISSING else {})


def join(clear: Any, secret: Any, leaf: Leaf = copy.deepcopy) -> Any:
    """Merge the secret part back into a fresh copy of the clear part; ``leaf`` maps each secret."""
    if secret is MISSING:
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


def masked(schema: dict[str, Any], clear: dict[str, Any], secret: dict[str, Any]) -> dict:
    """The section as every read path shows it: stored secrets and schema secrets masked."""
    view = join(clear, secret or MISSING, mask_leaf)
    clear2, secret2 = split(schema, view)  # a schema secret still stored in clear text
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
