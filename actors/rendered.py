"""An answer serialised once by the actor that owns its data: JSON bytes and their ETag."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Rendered:
    """``body`` is the JSON of the answer's ``data``; ``etag`` a quoted strong validator."""

    body: bytes
    etag: str


def render(data: Any) -> Rendered:
    """Serialise ``data``; the ETag is a digest of the bytes, so it survives restarts."""
    body = orjson.dumps(data)
    return Rendered(body, '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"')
