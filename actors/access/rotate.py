"""``run.py rotate-token``: write a new token where the server reads it (it notices by itself)."""

from __future__ import annotations

from pathlib import Path

from actors.config_store.peek import system_setting
from actors.paths import DataPaths

from .token import Location, generate_token, locate, write_token


def token_location(data_dir: Path, token_file: str | None) -> Location:
    """Where the server finds its token: ``token_file`` (``--token-file``), else the config's
    ``auth.token_file``, else ``<data-dir>/auth/token``."""
    paths = DataPaths(data_dir.resolve())
    named = token_file or system_setting(paths, "auth", "token_file")
    return locate(paths.auth_dir, paths.root, named if isinstance(named, str) else None)


def rotate_token(data_dir: Path, token_file: str | None) -> Path:
    """Replace the token file atomically (mode 0600) with a new random token; its path."""
    location = token_location(data_dir, token_file)
    write_token(location.path, generate_token())
    return location.path
