"""Make text safe to show or log: credentials in URLs masked, absolute paths hidden."""

from __future__ import annotations

import hashlib
import hmac
import re

_SCHEME = re.compile(r"(?i)^[a-z][a-z0-9+.-]*://")
# A URL inside free text (git and pip output): it ends at a space, a quote or a bracket.
_URL_IN_TEXT = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s'\"<>`]+")
# A credential-named query parameter outside a recognisable URL (a cut line of output).
_SECRET_QUERY = re.compile(
    r"(?i)([?&][^=&#\s]*(?:token|key|secret|password|passwd|auth|sig|signature)[^=&#\s]*=)[^&#\s]+"
)
# An absolute path: a '/' that is not part of a URL ("://" or "host/"), then at least one segment.
_ABS_PATH = re.compile(r"(?<![\w.:/~-])/(?:[\w.@+~-]+/)*[\w.@+~-]+/?")

MASK = "***"


def redact_url(url: str) -> str:
    """``https://u:p@host/x?a=1&t#f`` -> ``https://***@host/x?a=***&***#***``.

    Userinfo, every query value (named or bare: which ones are credentials cannot be known)
    and the fragment are masked; the scheme, host, path and parameter names stay.
    """
    head, rest = "", url
    scheme = _SCHEME.match(url)
    if scheme:
        rest = url[scheme.end() :]
        end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
        authority, rest = rest[:end], rest[end:]
        at = authority.rfind("@")  # the last '@': a password may hold an unescaped one
        head = scheme.group(0) + (MASK + authority[at:] if at >= 0 else authority)
    rest, hashmark, fragment = rest.partition("#")
    path, question, query = rest.partition("?")
    out = head + path
    if question:
        out += "?" + "&".join(_mask_parameter(part) for part in query.split("&"))
    if hashmark:
        out += "#" + (MASK if fragment else "")
    return out


def _mask_parameter(part: str) -> str:
    name, equals, value = part.partition("=")
    if not equals:
        return MASK if part else ""
    return f"{name}={MASK if value else ''}"


def url_fingerprint(url: str, key: bytes) -> str:
    """An opaque id of the full URL (credentials included) that reveals nothing of it.

    A keyed hash: with ``key`` random per process and never stored, no one can test a guess
    of the credential against it; equal URLs give equal fingerprints while the key lives.
    """
    return hmac.new(key, url.encode(), hashlib.sha256).hexdigest()[:32]


def display_url(url: str) -> str:
    """A URL for messages: credentials masked; a file URL cut to its last segment (no paths)."""
    if url.lower().startswith("file:"):
        return "file://…/" + url.rstrip("/").rsplit("/", 1)[-1]
    return redact_url(url)


def redact_text(text: str, *, hide: tuple[str, ...] = ()) -> str:
    """Mask URL credentials and replace absolute paths (and the given strings) with ``<path>``."""
    for secret in sorted((s for s in hide if s), key=len, reverse=True):
        text = text.replace(secret, "<path>")
    text = _URL_IN_TEXT.sub(lambda found: redact_url(found.group(0)), text)
    text = _SECRET_QUERY.sub(rf"\1{MASK}", text)
    return _ABS_PATH.sub("<path>", text)


def tail_lines(text: str, *, count: int = 5, width: int = 300) -> str:
    """The last ``count`` non-empty lines of ``text``, each cut to ``width`` characters."""
    lines = [line.strip()[:width] for line in text.splitlines() if line.strip()]
    return "\n".join(lines[-count:])
