"""Fetch plans: what to fetch, from where, for a registry entry, a URL, an upload or an update."""

from __future__ import annotations

from collections.abc import Awaitable
from functools import partial
from pathlib import Path
from typing import Protocol

from actors.errors import ErrorCode, PlugvisorError
from actors.installer.blocking import run_blocking
from actors.installer.compat import check_compatibility
from actors.installer.git import GitClient
from actors.installer.landing import Workspace
from actors.installer.progress import Progress
from actors.installer.registry import RegistryEntry
from actors.installer.results import InstalledRecord, PluginSource
from actors.installer.sources import Fetched, Fetcher
from actors.installer.urls import (
    is_archive_url,
    validate_archive_url,
    validate_branch,
    validate_git_url,
    validate_plugin_path,
)


class FetchStep(Protocol):
    def __call__(self, ws: Workspace, *, progress: Progress) -> Awaitable[Fetched]: ...


class Planner:
    """Validates every source value up front, so a refused input never starts any work."""

    def __init__(self, fetcher: Fetcher, git: GitClient, core_version: str, tmp_dir: Path) -> None:
        self.fetcher = fetcher
        self.git = git
        self.core_version = core_version
        self.tmp_dir = tmp_dir

    def _git(
        self, url: str, branches: list[str | None], plugin_path: str | None, source: PluginSource
    ) -> FetchStep:
        return partial(
            self.fetcher.from_git,
            url=url,
            branches=branches,
            plugin_path=plugin_path,
            source=source,
        )

    def _archive(self, url: str, plugin_path: str | None, source: PluginSource) -> FetchStep:
        return partial(
            self.fetcher.from_archive_url, url=url, plugin_path=plugin_path, source=source
        )

    def _entry_fields(self, entry: RegistryEntry) -> tuple[str, str | None, str | None]:
        """The entry's repo, plugin_path and branch, held to the same rules as user input."""
        try:
            repo = validate_git_url(entry.repo, field="repo", allow_file=entry.local_repos_allowed)
            return repo, validate_plugin_path(entry.plugin_path), validate_branch(entry.branch)
        except PlugvisorError as exc:
            raise PlugvisorError(
                ErrorCode.PLUGIN_INSTALL_FAILED,
                f"The registry entry of '{entry.id}' is unusable: {exc.message}",
                context=exc.context,
            ) from None

    def for_registry(
        self, entry: RegistryEntry, *, branch: str | None, version: str | None
    ) -> FetchStep:
        """Latest: the branch asked for, else the entry's, else the default branch.
        A version: its ``download_url`` archive if it has one, else the tag ``v<version>``."""
        repo, plugin_path, entry_branch = self._entry_fields(entry)
        source = PluginSource(type="registry", registry_id=entry.id, requested_branch=branch)
        if version is None:
            return self._git(repo, [branch, entry_branch, None], plugin_path, source)
        release = entry.version_entry(version)
        if release is None and entry.versions:
            raise PlugvisorError(
                ErrorCode.PLUGIN_NOT_FOUND,
                f"Version {version!r} of plugin '{entry.id}' is not in the registry",
            )
        release = release or {}
        floor = release.get("ledmatrix_min_version") or release.get("ledmatrix_min")
        if floor:
            check_compatibility(
                {"id": entry.id, "version": version, "min_ledmatrix_version": floor},
                self.core_version,
            )
        if release.get("download_url"):
            url = validate_archive_url(release["download_url"], field="download_url")
            return self._archive(url, plugin_path, source)
        tag = validate_branch(version, field="version")
        return self._git(repo, [f"v{tag}", tag], plugin_path, source)

    def for_url(self, url: object, *, plugin_path: str | None, branch: str | None) -> FetchStep:
        """An archive URL (by its .zip/.tar.gz/.tgz path) or else a git URL."""
        if isinstance(url, str) and is_archive_url(url.strip()):
            return self._archive(
                validate_archive_url(url), plugin_path, PluginSource(type="archive")
            )
        source = PluginSource(type="git", requested_branch=branch)
        return self._git(validate_git_url(url), [branch, None], plugin_path, source)

    def for_upload(self, data: bytes, filename: str) -> FetchStep:
        return partial(self.fetcher.from_bytes, data=data, filename=filename)

    async def for_update(
        self, plugin_id: str, current: InstalledRecord, entry: RegistryEntry | None
    ) -> FetchStep | None:
        """How to fetch the next revision, or ``None`` when the remote branch has not moved.

        ``entry`` is the registry's entry now for a plugin that came from the registry."""
        src = current.source
        if src.type == "archive":
            if not src.url:
                raise PlugvisorError(
                    ErrorCode.PLUGIN_UPDATE_FAILED,
                    f"Plugin '{plugin_id}' came from an uploaded archive: upload the new version",
                )
            return self._archive(validate_archive_url(src.url), src.plugin_path, src)
        if src.type == "registry":
            if entry is None:
                raise PlugvisorError(
                    ErrorCode.PLUGIN_UPDATE_FAILED,
                    f"Plugin '{plugin_id}' is no longer in the plugin registry",
                )
            repo, plugin_path, entry_branch = self._entry_fields(entry)
            moved = plugin_path != src.plugin_path or repo != src.url
            branch = src.requested_branch or entry_branch
            fetch = self.for_registry(entry, branch=src.requested_branch, version=None)
        else:
            repo, moved, branch = validate_git_url(src.url), False, src.requested_branch
            source = PluginSource(type="git", requested_branch=branch)
            fetch = self._git(repo, [branch, None], src.plugin_path, source)
        if not moved and src.commit and src.branch and branch in (None, src.branch):
            await run_blocking(self.tmp_dir.mkdir, parents=True, exist_ok=True)
            if await self.git.remote_commit(repo, src.branch, self.tmp_dir) == src.commit:
                return None
        return fetch
