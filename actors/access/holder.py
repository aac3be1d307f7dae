"""The token the API requires right now, shared by the token keeper (writer) and web/ (reader)."""

from __future__ import annotations

import hmac
from enum import Enum
from pathlib import Path


class Mode(Enum):
    OPEN = "open"  # no token configured and a loopback bind: every request is let in
    TOKEN = "token"  # noqa: S105 - a mode name: requests need the token
    LOCKED = "locked"  # a token is required but none could be read: nothing is let in


class AccessToken:
    """Starts LOCKED: until the keeper has looked, the API lets nobody in."""

    def __init__(self) -> None:
        self._mode = Mode.LOCKED
        self._token: bytes = b""
        self.problem: str | None = "the token file has not been read yet"
        self.created: Path | None = None  # a token file this process created (run.py says where)

    @property
    def mode(self) -> Mode:
        return self._mode

    def open(self) -> None:
        self._mode, self._token, self.problem = Mode.OPEN, b"", None

    def require(self, token: str) -> None:
        self._mode, self._token, self.problem = Mode.TOKEN, token.encode("ascii"), None

    def lock(self, problem: str) -> None:
        """No usable token: refuse everything (a known good token stays valid, see the keeper)."""
        self._mode, self._token, self.problem = Mode.LOCKED, b"", problem

    def matches(self, candidate: str) -> bool:
        """Compared in constant time; False unless a token is set."""
        if self._mode is not Mode.TOKEN:
            return False
        try:
            given = candidate.encode("ascii")
        except UnicodeEncodeError:
            return False
        return hmac.compare_digest(given, self._token)
