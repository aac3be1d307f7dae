"""Checks on every source value from a user (git and archive URLs, branches, sub-paths)."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

from actors.errors import invalid_input
from actors.installer.redact import redact_url

MAX_URL_LENGTH = 2048
GIT_SCHEMES = frozenset({"https", "http", "ssh", "file"})
ARCHIVE_SCHEMES = frozenset({"https", "http"})
ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz")

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$")
_USERNAME = re.compile(r"^[A-Za-z0-9._~%+!$&'()*,;=][A-Za-z0-9._~%+!$&'()*,;=-]*$")
_SCP_LIKE = re.compile(r"^[^/:]+@[^/:]+:")
_TRANSPORT = re.compile(r"^[A-Za-z0-9+.-]*::")
_BRANCH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/+-]{0,199}$")
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$")


def _shown(url: str) -> str:
    shown = redact_url(url)  # credentials out first: a cut could hide them from the redaction
    return shown if len(shown) <= 120 else shown[:120] + "…"


def _basic(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise invalid_input(f"'{field}' must be a string", field=field)
    url = value.strip()
    if not url:
        raise invalid_input(f"'{field}' must not be empty", field=field)
    if len(url) > MAX_URL_LENGTH:
        raise invalid_input(f"'{field}' is longer than {MAX_URL_LENGTH} characters", field=field)
    if any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in url):
        raise invalid_input(f"'{field}' must not contain spaces or control characters", field=field)
    if url.startswith("-"):
        raise invalid_input(f"'{field}' must not start with '-'", field=field)
    if "#" in url:  # git would send it on as part of the path; a download drops it
        raise invalid_input(
            f"'{field}' must not have a fragment ('#…'): it is never sent to the server;"
            " name a branch in 'branch'",
            field=field,
        )
    if _TRANSPORT.match(url):
        raise invalid_input(
            f"'{field}': git transport syntax ('<name>::') is not allowed", field=field
        )
    return url


def _check_network_location(parts: SplitResult, url: str, field: str) -> None:
    try:
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        host = None
    if not host:
        raise invalid_input(f"'{field}' has no valid host: {_shown(url)}", field=field)
    if host.startswith("-") or not (_HOSTNAME.match(host) or _is_ip(host)):
        raise invalid_input(f"'{field}' has an invalid host: {_shown(url)}", field=field)
    username = parts.username
    if username is not None and not _USERNAME.match(username):
        raise invalid_input(f"'{field}' has an invalid user name", field=field)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def validate_git_url(value: Any, *, field: str = "repo_url", allow_file: bool = True) -> str:
    """Return the URL if git may be pointed at it, else raise ``INVALID_INPUT``.

    Accepted: ``https://``, ``http://``, ``ssh://`` and (when ``allow_file``) ``file:///abs/path``.
    Refused: options in disguise (``-...``), ``<transport>::`` syntax, scp-like ``user@host:path``
    (write ``ssh://user@host/path``), any other scheme, spaces and control characters.
    """
    url = _basic(value, field)
    if _SCP_LIKE.match(url):
        raise invalid_input(
            f"'{field}': scp-like addresses are not accepted; write ssh://user@host/path",
            field=field,
        )
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    allowed = GIT_SCHEMES if allow_file else GIT_SCHEMES - {"file"}
    if scheme not in allowed or not url.lower().startswith(f"{scheme}://"):
        names = ", ".join(sorted(allowed))
        raise invalid_input(f"'{field}' must be a URL with one of the schemes {names}", field=field)
    if scheme == "file":
        path = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not path.startswith("/"):
            raise invalid_input(f"'{field}' must be a file:///absolute/path URL", field=field)
        if ".." in PurePosixPath(path).parts or "\x00" in path:
            raise invalid_input(f"'{field}' must not contain '..'", field=field)
        return url
    _check_network_location(parts, url, field)
    if scheme == "ssh" and any(seg.startswith("-") for seg in unquote(parts.path).split("/")):
        raise invalid_input(f"'{field}' has a path segment starting with '-'", field=field)
    return url


def is_archive_url(url: str) -> bool:
    """True when the URL names a .zip, .tar.gz or .tgz file (decided by its path)."""
    try:
        path = urlsplit(url).path.lower()
    except ValueError:
        return False
    return path.endswith(ARCHIVE_SUFFIXES)


def validate_archive_url(value: Any, *, field: str = "repo_url") -> str:
    """Return the URL if it is an http(s) URL of an archive, else raise ``INVALID_INPUT``."""
    url = _basic(value, field)
    parts = urlsplit(url)
    if parts.scheme.lower() not in ARCHIVE_SCHEMES or "://" not in url:
        raise invalid_input(
            f"'{field}': archives are downloaded over https or http only", field=field
        )
    _check_network_location(parts, url, field)
    if not is_archive_url(url):
        raise invalid_input(f"'{field}' must name a .zip or .tar.gz archive", field=field)
    return url


def validate_branch(value: Any, *, field: str = "branch") -> str | None:
    """A branch or tag name git can only read as a name, never an option; ``None`` if empty."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid_input(f"'{field}' must be a string", field=field)
    bad = (
        not _BRANCH.fullmatch(value)
        or ".." in value
        or "//" in value
        or value.endswith(("/", ".", ".lock"))
        or any(seg.startswith(".") for seg in value.split("/"))
    )
    if bad:
        raise invalid_input(f"'{field}' is not a valid branch or tag name", field=field)
    return value


def validate_plugin_path(value: Any, *, field: str = "plugin_path") -> str | None:
    """A relative sub-folder of a repository or archive (monorepos); ``None`` if empty.

    Never absolute, no ``..`` or ``.`` segments, no hidden segments, at most 8 levels.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_input(f"'{field}' must be a string", field=field)
    text = value.strip().rstrip("/")
    if not text:
        return None
    if text.startswith("/") or "\\" in text:
        raise invalid_input(f"'{field}' must be a relative path inside the repository", field=field)
    segments = text.split("/")
    if len(segments) > 8 or not all(_SEGMENT.fullmatch(seg) for seg in segments):
        raise invalid_input(
            f"'{field}' must be a relative path of plain names (no '..', '.', or hidden parts)",
            field=field,
        )
    return "/".join(segments)


def local_repo_url(repo: str, base: Path | None) -> str:
    """A local registry's repository path (absolute, or relative to the registry) as a file URL."""
    path = Path(repo)
    if not path.is_absolute():
        if base is None:
            raise invalid_input("A relative repository path is only allowed in a local registry")
        path = base / path
    return path.resolve().as_uri()
