"""The log redactor: the last processor before a line is rendered, for structlog and stdlib alike.

It masks, in every string of an event (nested dicts and lists included, exception text too):
each value the process knows to be secret (``actors.secret_values``: API tokens and
``x-secret`` settings), the userinfo of any URL (``scheme://user:pass@host``), the credentials
of an ``Authorization`` header or a ``Bearer``/``Basic`` scheme, credential-named query
parameters and ``password=``-style pairs; and the whole value of any key that names a secret.
"""

from __future__ import annotations

import re
from typing import Any

from actors.secret_values import SecretValues

MASK = "[redacted]"

_SECRET_KEYS = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "secrets",
        "token",
        "api_key",
        "apikey",
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
    }
)
_SECRET_KEY_SUFFIXES = ("_password", "_secret", "_token", "-token", "-key")
# Keys that hold no text to mask (or that later processors still need whole).
_PASS_THROUGH = frozenset({"exc_info", "stack_info", "_record", "_from_structlog", "level"})

# The userinfo of a URL: everything up to the last '@' before the path, query or fragment (a
# password may hold an unescaped '@').
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/?#'\"<>]+@")
_AUTH_HEADER = re.compile(r"(?i)\b((?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)[^\"'\r\n,}]+")
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic|digest)(\s+)[A-Za-z0-9._~+/=:-]{4,}")
_SECRET_QUERY = re.compile(
    r"(?i)([?&;][^=&#\s]*(?:token|key|secret|password|passwd|auth|sig|signature)[^=&#\s]*=)"
    r"[^&#\s'\"<>]+"
)
_SECRET_PAIR = re.compile(
    r"(?i)\b((?:password|passwd|secret|api[_-]?key|access[_-]?token|token)[\"']?\s*[=:]\s*[\"']?)"
    r"(?!\[redacted\])[^\s\"'&,;}]+"
)


class Redactor:
    """A structlog processor; ``secrets`` is read at every call, so values added later count."""

    def __init__(self, secrets: SecretValues | None = None) -> None:
        self._secrets = secrets or SecretValues()
        self._known: tuple[str, ...] = ()
        self._known_pattern: re.Pattern[str] | None = None

    def __call__(self, _logger: object, _name: str, event: dict[str, Any]) -> dict[str, Any]:
        for key, value in event.items():
            if key in _PASS_THROUGH:
                continue
            event[key] = MASK if _names_secret(key) else self._clean(value, 0)
        return event

    def text(self, text: str) -> str:
        """``text`` with every known secret and credential pattern masked."""
        pattern = self._pattern()
        if pattern is not None:
            text = pattern.sub(MASK, text)
        text = _URL_USERINFO.sub(rf"\1{MASK}@", text)
        text = _AUTH_HEADER.sub(rf"\1{MASK}", text)
        text = _AUTH_SCHEME.sub(rf"\1\2{MASK}", text)
        text = _SECRET_QUERY.sub(rf"\1{MASK}", text)
        return _SECRET_PAIR.sub(rf"\1{MASK}", text)

    def _clean(self, value: Any, depth: int) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if value is None or isinstance(value, (bool, int, float)):
            return value
        if depth > 16:
            return MASK  # nothing logged nests this deep; do not walk it
        if isinstance(value, dict):
            return {
                k: MASK if isinstance(k, str) and _names_secret(k) else self._clean(v, depth + 1)
                for k, v in value.items()
            }
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self._clean(item, depth + 1) for item in value]
        if isinstance(value, (bytes, bytearray)):
            return self.text(bytes(value).decode("utf-8", "replace"))
        # Exceptions, paths, URLs...: the renderers would show their repr; mask that text.
        return self.text(repr(value))

    def _pattern(self) -> re.Pattern[str] | None:
        known = self._secrets.values()
        if known is not self._known:
            self._known = known
            self._known_pattern = (
                re.compile("|".join(re.escape(value) for value in known)) if known else None
            )
        return self._known_pattern


def _names_secret(key: str) -> bool:
    lowered = key.lower()
    return lowered in _SECRET_KEYS or lowered.endswith(_SECRET_KEY_SUFFIXES)
