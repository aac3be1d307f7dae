"""Make text safe to show or log: credentials in URLs masked, absolute paths hidden."""

from __future__ import annotations

import re

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s]+@")
_SECRET_QUERY = re.compile(
    r"(?i)([?&][^=&#\s]*(?:token|key|secret|password|passwd|auth|sig|signature)[^=&#\s]*=)[^&#\s]+"
)
# An absolute path: a '/' that is not part of a URL ("://" or "host/"), then at least one segment.
_ABS_PATH = re.compile(r"(?<![\w.:/~-])/(?:[\w.@+~-]+/)*[\w.@+~-]+/?")

MASK = "***"


def redact_url(url: str) -> str:
    """``https://user:token@host/x?token=y`` -> ``https://***@host/x?token=***``."""
    masked = _USERINFO.sub(rf"\1{MASK}@", url)
    return _SECRET_QUERY.sub(rf"\1{MASK}", masked)


def display_url(url: str) -> str:
    """A URL for messages: credentials masked; a file URL cut to its last segment (no paths)."""
    if url.lower().startswith("file:"):
        return "file://…/" + url.rstrip("/").rsplit("/", 1)[-1]
    return redact_url(url)


def redact_text(text: str, *, hide: tuple[str, ...] = ()) -> str:
    """Mask URL credentials and replace absolute paths (and the given strings) with ``<path>``."""
    for secret in sorted((s for s in hide if s), key=len, reverse=True):
        text = text.replace(secret, "<path>")
    text = redact_url(text)
    return _ABS_PATH.sub("<path>", text)


def tail_lines(text: str, *, count: int = 5, width: int = 300) -> str:
    """The last ``count`` non-empty lines of ``text``, each cut to ``width`` characters."""
    lines = [line.strip()[:width] for line in text.splitlines() if line.strip()]
    return "\n".join(lines[-count:])
