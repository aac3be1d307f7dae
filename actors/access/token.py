"""The API token file: where it is, reading it, creating and rotating it (mode 0600, atomically).

Pure decisions (``exposed``, ``parse_token``, ``locate``) are separate from the file work so
that the tests can check them without binding to a public address.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from actors.fsio import Syncer, atomic_write

TOKEN_BYTES = 32  # 256 random bits, 43 URL-safe characters
MIN_TOKEN_CHARS = 16
MAX_TOKEN_CHARS = 512
MAX_FILE_BYTES = 4096
FILE_MODE = 0o600
FOLDER_MODE = 0o700
DEFAULT_NAME = "token"


class TokenFileError(Exception):
    """A token file that exists but cannot be used; the message says why (no content)."""


def exposed(host: str) -> bool:
    """Whether serving on ``host`` is reachable from other machines (then a token is required).

    Only ``localhost`` and loopback addresses (127.0.0.0/8, ::1) count as private; every
    other name, the wildcard addresses and anything that is not an address are exposed.
    """
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(name).is_loopback
    except ValueError:
        return True


def generate_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def parse_token(raw: bytes) -> str:
    """The token a file holds: its first line, stripped; visible ASCII, 16-512 characters."""
    if len(raw) > MAX_FILE_BYTES:
        raise TokenFileError("the token file is larger than a token can be")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise TokenFileError("the token file holds characters other than ASCII") from None
    lines = text.strip().splitlines()
    token = lines[0].strip() if lines else ""
    if not token:
        raise TokenFileError("the token file is empty")
    if not all("!" <= c <= "~" for c in token):
        raise TokenFileError("the token holds spaces or control characters")
    if not MIN_TOKEN_CHARS <= len(token) <= MAX_TOKEN_CHARS:
        raise TokenFileError(
            f"the token must be {MIN_TOKEN_CHARS} to {MAX_TOKEN_CHARS} characters long"
        )
    return token


@dataclass(frozen=True, slots=True)
class Location:
    """The token file in use and whether someone named it (a named file is always required)."""

    path: Path
    named: bool


def locate(default_folder: Path, data_root: Path, named: str | None) -> Location:
    """``named`` (``--token-file``, else the config's ``auth.token_file``) or ``<folder>/token``.

    A relative name is taken from the data directory, whatever the working directory is.
    """
    if named:
        path = Path(named).expanduser()
        return Location(path if path.is_absolute() else data_root / path, named=True)
    return Location(default_folder / DEFAULT_NAME, named=False)


@dataclass(frozen=True, slots=True)
class Stamp:
    """What changes when the file is replaced or rewritten: compared to notice a rotation."""

    inode: int
    size: int
    mtime_ns: int


def stamp_of(path: Path) -> Stamp | None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return Stamp(info.st_ino, info.st_size, info.st_mtime_ns)


def read_token(path: Path) -> tuple[str, Stamp]:
    """The token in ``path`` and the file's stamp; TokenFileError when it cannot be used.

    FileNotFoundError when there is no file at all. A file that others may read is used
    but reported (``loose_mode``) by the caller, as ssh does not: refusing it would lock the
    owner out of a device with no other way in.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise TokenFileError(f"the token file cannot be opened ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise TokenFileError("the token file is not a regular file")
        raw = os.read(fd, MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise TokenFileError(f"the token file cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    return parse_token(raw), Stamp(info.st_ino, info.st_size, info.st_mtime_ns)


def loose_mode(path: Path) -> bool:
    """Whether group or others may read or write the file."""
    try:
        return bool(os.stat(path).st_mode & 0o077)
    except OSError:
        return False


def write_token(path: Path, token: str, syncer: Syncer | None = None) -> None:
    """Replace ``path`` with ``token`` atomically, mode 0600 from its first byte; the folder is
    created 0700 when missing."""
    parse_token(token.encode("ascii"))  # never write a token this process would refuse
    if not path.parent.is_dir():
        path.parent.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    atomic_write(path, token.encode("ascii") + b"\n", mode=FILE_MODE, syncer=syncer)
