"""Getting a plugin's files into a workspace: a git clone, a downloaded archive, or an upload."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, replace
from pathlib import Path, PurePath

from actors.installer.archive import ArchiveLimits, MiB, extract_archive, refuse
from actors.installer.blocking import run_blocking
from actors.installer.download import download_file
from actors.installer.git import GitClient
from actors.installer.landing import Workspace, remove_path
from actors.installer.progress import Progress, Stage
from actors.installer.redact import display_url
from actors.installer.results import PluginSource
from actors.installer.tree import check_tree, find_plugin_root


@dataclass(frozen=True, slots=True)
class Fetched:
    root: Path  # the folder holding manifest.json, inside the workspace
    source: PluginSource


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _write_bytes(path: Path, data: bytes) -> None:
    path.write_bytes(data)


class Fetcher:
    def __init__(
        self, git: GitClient, limits: ArchiveLimits, *, timeout_s: float, backoff_s: float
    ) -> None:
        self.git = git
        self.limits = limits
        self.timeout_s = timeout_s
        self.backoff_s = backoff_s

    async def from_git(
        self,
        ws: Workspace,
        *,
        url: str,
        branches: list[str | None],
        plugin_path: str | None,
        progress: Progress,
        source: PluginSource,
    ) -> Fetched:
        """Clone the first existing branch of ``branches`` (``None``: the default branch)."""
        await progress.report(Stage.DOWNLOADING, 0.0, f"Cloning {display_url(url)}")
        clone = ws.dir / "clone"
        result, tried = await self.git.clone_first(url, clone, branches)
        await progress.report(Stage.DOWNLOADING, 0.9, f"Cloned commit {result.commit[:12]}")
        await run_blocking(remove_path, clone / ".git")
        root = await run_blocking(find_plugin_root, clone, plugin_path, unwrap=False)
        await run_blocking(check_tree, root, self.limits)
        used = replace(
            source,
            url=url,
            branch=result.branch or tried,
            commit=result.commit,
            plugin_path=plugin_path,
        )
        return Fetched(root, used)

    async def from_archive_url(
        self,
        ws: Workspace,
        *,
        url: str,
        plugin_path: str | None,
        progress: Progress,
        source: PluginSource,
    ) -> Fetched:
        await progress.report(Stage.DOWNLOADING, 0.0, f"Downloading {display_url(url)}")
        file = ws.dir / "download"

        async def on_progress(received: int, total: int | None) -> None:
            if total:
                await progress.report(
                    Stage.DOWNLOADING, 0.8 * received / total, f"Downloaded {received // 1024} KiB"
                )

        await download_file(
            url,
            file,
            timeout_s=self.timeout_s,
            max_bytes=self.limits.max_archive_bytes,
            backoff_s=self.backoff_s,
            on_progress=on_progress,
        )
        return await self._unpack(
            ws, file, plugin_path, progress, replace(source, url=url, plugin_path=plugin_path)
        )

    async def from_bytes(
        self, ws: Workspace, data: bytes, filename: str, *, progress: Progress
    ) -> Fetched:
        if len(data) > self.limits.max_archive_bytes:
            raise refuse(
                f"it is larger than {self.limits.max_archive_bytes // MiB} MiB",
                limit="max_archive_bytes",
            )
        await progress.report(Stage.DOWNLOADING, 0.5, "Storing the uploaded archive")
        file = ws.dir / "upload"
        await run_blocking(_write_bytes, file, data)
        name = PurePath(filename.replace("\\", "/")).name[:100] if filename else None
        source = PluginSource(type="archive", archive_name=name or None)
        return await self._unpack(ws, file, None, progress, source)

    async def _unpack(
        self,
        ws: Workspace,
        file: Path,
        plugin_path: str | None,
        progress: Progress,
        source: PluginSource,
    ) -> Fetched:
        await progress.report(Stage.DOWNLOADING, 0.85, "Unpacking the archive")
        digest = await run_blocking(_sha256, file)
        unpack = ws.dir / "unpack"
        await run_blocking(unpack.mkdir, mode=0o700)
        cancel = threading.Event()
        count = await run_blocking(
            extract_archive, file, unpack, self.limits, cancel, cancel=cancel
        )
        await progress.report(Stage.DOWNLOADING, 1.0, f"Unpacked {count} entries")
        root = await run_blocking(find_plugin_root, unpack, plugin_path)
        return Fetched(root, replace(source, archive_sha256=digest))
