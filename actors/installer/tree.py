"""Checks on a staged plugin folder: where the plugin sits, and that nothing points outside."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from actors.errors import ErrorCode, PlugvisorError
from actors.installer.archive import ArchiveLimits, MiB
from actors.installer.manifest import MANIFEST_FILE

IGNORED_TOP_LEVEL = frozenset({"__MACOSX"})


def _bad_tree(message: str) -> PlugvisorError:
    return PlugvisorError(ErrorCode.PLUGIN_INSTALL_FAILED, message)


def _real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _below(base: Path, plugin_path: str) -> Path | None:
    current = base
    for part in plugin_path.split("/"):
        current = current / part
        if not _real_dir(current):
            return None
    return current


def find_plugin_root(base: Path, plugin_path: str | None = None, *, unwrap: bool = True) -> Path:
    """The folder holding manifest.json. Blocking.

    Without ``plugin_path``: ``base``, or (``unwrap``) its single top-level folder, as in GitHub
    archives. With it (monorepos): ``base/plugin_path``, or (``unwrap``) the same below the
    single top-level folder.
    """
    candidates = [base]
    entries = [e for e in base.iterdir() if e.name not in IGNORED_TOP_LEVEL]
    if unwrap and len(entries) == 1 and _real_dir(entries[0]):
        candidates.append(entries[0])
    for candidate in candidates:
        root = _below(candidate, plugin_path) if plugin_path else candidate
        if root is not None and (root / MANIFEST_FILE).is_file():
            return root
    if plugin_path:
        raise _bad_tree(f"The source has no folder '{plugin_path}' holding a {MANIFEST_FILE}")
    where = "at its root or in its single top-level folder" if unwrap else "at its root"
    raise _bad_tree(f"The source has no {MANIFEST_FILE} {where}")


def check_tree(root: Path, limits: ArchiveLimits) -> None:
    """Refuse a tree with links leading out of it (or absolute ones), device or fifo files, or
    more files or bytes than ``limits`` allow. In-tree relative links are kept. Blocking."""
    real_root = os.path.realpath(root)
    files = 0
    total = 0
    for folder, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, root)
            info = os.lstat(path)
            files += 1
            if stat.S_ISLNK(info.st_mode):
                target = os.readlink(path)
                resolved = os.path.realpath(path)
                if os.path.isabs(target) or os.path.commonpath([real_root, resolved]) != real_root:
                    raise _bad_tree(f"'{relative}' is a link that leads outside the plugin")
            elif stat.S_ISREG(info.st_mode):
                total += info.st_size
                if info.st_size > limits.max_file_bytes:
                    raise _bad_tree(
                        f"'{relative}' is larger than {limits.max_file_bytes // MiB} MiB"
                    )
            elif not stat.S_ISDIR(info.st_mode):
                raise _bad_tree(f"'{relative}' is a device, fifo or socket file")
        if files > limits.max_files:
            raise _bad_tree(f"The plugin holds more than {limits.max_files} files")
        if total > limits.max_total_bytes:
            raise _bad_tree(f"The plugin is larger than {limits.max_total_bytes // MiB} MiB")
