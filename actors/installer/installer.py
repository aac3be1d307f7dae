"""The plugin installer the operation queue drives: install, update, uninstall, crash recovery."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import structlog

from actors.damage import Damage
from actors.errors import ErrorCode, PlugvisorError, invalid_input
from actors.fsio import Syncer, storage_error
from actors.installer.activation import Activator, accept_late_cancel
from actors.installer.archive import ArchiveLimits
from actors.installer.blocking import run_blocking, run_to_completion
from actors.installer.compat import LEDMATRIX_CORE_VERSION
from actors.installer.deps import PipOptions, install_requirements, read_requirements
from actors.installer.git import GitClient
from actors.installer.inventory import Inventory
from actors.installer.landing import Lander, Workspace
from actors.installer.plans import FetchStep, Planner
from actors.installer.progress import Progress, ProgressCallback, Stage
from actors.installer.registry import RegistryEntry
from actors.installer.results import InstalledRecord, InstallResult, PluginSource, RecoveryReport
from actors.installer.sources import Fetched, Fetcher
from actors.installer.tombstones import Tombstones
from actors.installer.urls import validate_branch, validate_plugin_path
from actors.paths import DataPaths
from actors.plugin_ids import validate_plugin_id

log = structlog.get_logger(__name__)


def _as_update_error(exc: PlugvisorError) -> PlugvisorError:
    if exc.code is not ErrorCode.PLUGIN_INSTALL_FAILED:
        return exc
    return PlugvisorError(
        ErrorCode.PLUGIN_UPDATE_FAILED, exc.message, details=exc.details, context=exc.context
    )


def _same_revision(current: PluginSource, fetched: PluginSource) -> bool:
    """True when an update fetched exactly what is installed (same commit or same archive bytes)."""
    if current.url != fetched.url or current.plugin_path != fetched.plugin_path:
        return False
    if current.commit and fetched.commit:
        return current.commit == fetched.commit
    return bool(current.archive_sha256) and current.archive_sha256 == fetched.archive_sha256


class Installer:
    """Fetches, verifies and lands plugins in ``plugins/<manifest id>``; one per data dir.

    Call :meth:`recover` once at start, before any operation. Operations may run concurrently;
    their landings are serialised. Every operation is cancellable: a cancelled one kills its
    git or pip, removes its staging folder and leaves the previous copy in place.
    """

    def __init__(
        self,
        paths: DataPaths,
        *,
        core_version: str = LEDMATRIX_CORE_VERSION,
        pip: PipOptions | None = None,
        limits: ArchiveLimits | None = None,
        git_timeout_s: float = 120.0,
        download_timeout_s: float = 120.0,
        download_backoff_s: float = 0.75,
        git_binary: str = "git",
        syncer: Syncer | None = None,
        damage: Damage | None = None,
    ) -> None:
        self.paths = paths
        self.core_version = core_version
        self.pip = pip or PipOptions()
        self.limits = limits or ArchiveLimits()
        self._tombstones = Tombstones(paths.plugins_dir, syncer, damage)
        self._lander = Lander(paths, self._tombstones, syncer)
        self._inventory = Inventory(paths, self._lander, syncer)
        self._activator = Activator(self._lander, self._inventory)
        git = GitClient(binary=git_binary, timeout_s=git_timeout_s)
        fetcher = Fetcher(
            git, self.limits, timeout_s=download_timeout_s, backoff_s=download_backoff_s
        )
        self._planner = Planner(fetcher, git, core_version, paths.tmp_dir)
        self._active = 0

    # -- what is installed -----------------------------------------------------------------

    async def installed_ids(self) -> list[str]:
        """Ids of the folders in plugins/ (dot-entries and invalid names skipped), sorted."""
        return await run_blocking(self._inventory.installed_ids)

    async def read_manifest(self, plugin_id: str) -> dict[str, Any]:
        """The installed plugin's manifest; ``PLUGIN_NOT_FOUND`` or ``VALIDATION_ERROR``."""
        return await run_blocking(self._inventory.read_manifest, validate_plugin_id(plugin_id))

    async def installed_record(self, plugin_id: str) -> InstalledRecord | None:
        """Version, install times and source (credentials masked); ``None`` without a record."""
        record = await run_blocking(self._inventory.read_record, validate_plugin_id(plugin_id))
        return None if record is None else replace(record, source=record.source.redacted())

    async def is_installed(self, plugin_id: str) -> bool:
        """Whether plugins/<plugin_id> is there (a folder, whatever its manifest says)."""
        return validate_plugin_id(plugin_id) in await self.installed_ids()

    async def landed_by(self, operation_id: str) -> str | None:
        """The plugin whose installed copy ``operation_id`` landed (its install record says so)."""
        return await run_blocking(self._inventory.landed_by, operation_id)

    async def recover(self) -> RecoveryReport:
        """Undo or finish what a crash interrupted and empty tmp/. Call before any operation."""
        if self._active:
            raise RuntimeError("recover() must not run while operations are in progress")
        report = await self._activator.recover()
        log.info("installer_recovered", **report.to_dict())
        return report

    # -- operations ------------------------------------------------------------------------

    async def install_from_registry(
        self,
        entry: RegistryEntry,
        *,
        requested_id: str | None = None,
        branch: str | None = None,
        version: str | None = None,
        progress: ProgressCallback | None = None,
        operation_id: str | None = None,
    ) -> InstallResult:
        """Install a registry plugin from its entry (the caller looked it up, by id or by the
        last segment of plugin_path: ``requested_id``, the id asked for, defaults to its id)."""
        plugin_id = validate_plugin_id(entry.id if requested_id is None else requested_id)
        branch = validate_branch(branch)
        if version is not None and (not isinstance(version, str) or not version.strip()):
            raise invalid_input("'version' must be a non-empty string", field="version")
        reporter = Progress(progress, log.bind(plugin_id=plugin_id))
        version = version.strip() if version else None
        fetch = self._planner.for_registry(entry, branch=branch, version=version)
        await reporter.report(Stage.RESOLVING, 1.0, f"Found {entry.name} in the registry")
        return await self._install(fetch, reporter, operation_id, requested_id=plugin_id)

    async def install_from_url(
        self,
        url: str,
        *,
        plugin_id: str | None = None,
        plugin_path: str | None = None,
        branch: str | None = None,
        progress: ProgressCallback | None = None,
        operation_id: str | None = None,
    ) -> InstallResult:
        """Install from a git URL (https, http, ssh, file) or an archive URL (.zip, .tar.gz).

        ``plugin_id`` is the caller's expectation only: the manifest id names the folder.
        """
        if plugin_id is not None:
            plugin_id = validate_plugin_id(plugin_id)
        fetch = self._planner.for_url(
            url, plugin_path=validate_plugin_path(plugin_path), branch=validate_branch(branch)
        )
        reporter = Progress(progress, log.bind(plugin_id=plugin_id))
        await reporter.report(Stage.RESOLVING, 1.0, "Source address accepted")
        return await self._install(fetch, reporter, operation_id, requested_id=plugin_id)

    async def install_from_archive(
        self,
        data: bytes,
        filename: str,
        *,
        progress: ProgressCallback | None = None,
        operation_id: str | None = None,
    ) -> InstallResult:
        """Install an uploaded .zip or .tar.gz (plugin at its root or in its single top folder)."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise invalid_input("the archive must be bytes", field="archive")
        reporter = Progress(progress, log)
        await reporter.report(Stage.RESOLVING, 1.0, "Archive received")
        fetch = self._planner.for_upload(bytes(data), filename)
        return await self._install(fetch, reporter, operation_id)

    async def update(
        self,
        plugin_id: str,
        *,
        registry_entry: RegistryEntry | None = None,
        progress: ProgressCallback | None = None,
        operation_id: str | None = None,
    ) -> InstallResult:
        """Fetch the newest revision from the plugin's source; on failure the old copy stays.

        A plugin that came from the registry needs ``registry_entry``, the registry's entry
        now for its ``source.registry_id`` (``None``: no longer in the registry)."""
        plugin_id = validate_plugin_id(plugin_id)
        reporter = Progress(progress, log.bind(plugin_id=plugin_id))
        await reporter.report(Stage.RESOLVING, 0.0, "Reading the installed copy")
        try:
            current = await run_blocking(self._inventory.require_record, plugin_id)
            fetch = await self._planner.for_update(plugin_id, current, registry_entry)
            if fetch is None:
                return await self._unchanged(current, reporter)
            return await self._install(
                fetch, reporter, operation_id, expected_id=plugin_id, current=current
            )
        except PlugvisorError as exc:
            raise _as_update_error(exc) from None

    async def uninstall(self, plugin_id: str, *, progress: ProgressCallback | None = None) -> None:
        """Remove plugins/<plugin_id> and tombstone the id (files only: config is not ours)."""
        plugin_id = validate_plugin_id(plugin_id)
        blog = log.bind(plugin_id=plugin_id)
        reporter = Progress(progress, blog)
        await reporter.report(Stage.REMOVING, 0.0, f"Removing {plugin_id}")
        try:
            late = await self._activator.remove(plugin_id, reporter)
        except OSError as exc:
            raise storage_error(
                exc, ErrorCode.PLUGIN_UNINSTALL_FAILED, "remove the plugin"
            ) from exc
        if late:
            accept_late_cancel(blog)
        blog.info("plugin_uninstalled")

    # -- the pipeline shared by installs and updates ---------------------------------------

    async def _install(
        self,
        fetch: FetchStep,
        reporter: Progress,
        operation_id: str | None,
        *,
        requested_id: str | None = None,
        expected_id: str | None = None,
        current: InstalledRecord | None = None,
    ) -> InstallResult:
        self._active += 1
        try:
            kind = "update" if current else "install"
            ws = await run_blocking(self._lander.new_workspace, kind)
            blog = log.bind(plugin_id=expected_id or requested_id, op=ws.op_id)
            try:
                result, late = await self._pipeline(
                    ws, fetch, reporter, blog, operation_id, requested_id, expected_id, current
                )
            except OSError as exc:
                raise storage_error(
                    exc, ErrorCode.PLUGIN_INSTALL_FAILED, f"{kind} the plugin"
                ) from exc
            finally:
                _, late_cleanup = await run_to_completion(run_blocking(self._lander.discard, ws))
            if late or late_cleanup:
                accept_late_cancel(blog)
            return result
        finally:
            self._active -= 1

    async def _pipeline(
        self,
        ws: Workspace,
        fetch: FetchStep,
        reporter: Progress,
        blog: Any,
        operation_id: str | None,
        requested_id: str | None,
        expected_id: str | None,
        current: InstalledRecord | None,
    ) -> tuple[InstallResult, bool]:
        fetched = await fetch(ws, progress=reporter)
        if current is not None and _same_revision(current.source, fetched.source):
            return await self._unchanged(current, reporter), False
        await reporter.report(Stage.VERIFYING, 0.0, "Checking manifest.json and compatibility")
        manifest = await run_blocking(self._inventory.verify, fetched.root, self.core_version)
        plugin_id, version = manifest["id"], manifest["version"]
        blog = blog.bind(plugin_id=plugin_id)
        if expected_id is not None and plugin_id != expected_id:
            raise PlugvisorError(
                ErrorCode.PLUGIN_INSTALL_FAILED,
                f"The new version's manifest id is '{plugin_id}', not '{expected_id}'",
            )
        await reporter.report(Stage.VERIFYING, 1.0, f"{manifest['name']} {version} is compatible")
        deps = await self._dependencies(ws, fetched, reporter)
        await run_blocking(self._inventory.stage, fetched.root, ws)
        previous, late = await self._activator.land(
            ws, plugin_id, version, fetched.source, reporter, operation_id
        )
        blog.info("plugin_installed", version=version, source=fetched.source.public())
        result = InstallResult(
            plugin_id,
            version,
            manifest["name"],
            fetched.source.redacted(),
            manifest,
            requested_id=requested_id if requested_id != plugin_id else None,
            previous_version=previous.version if previous else None,
            dependencies_installed=deps,
        )
        return result, late

    async def _dependencies(self, ws: Workspace, fetched: Fetched, reporter: Progress) -> bool:
        requirements = await run_blocking(read_requirements, fetched.root)
        stage = Stage.INSTALLING_DEPENDENCIES
        if not requirements:
            await reporter.report(stage, 1.0, "No Python dependencies to install")
            return False
        await reporter.report(stage, 0.0, f"Installing {len(requirements)} Python requirement(s)")
        await install_requirements(fetched.root, self.pip, work_dir=ws.dir)
        await reporter.report(stage, 1.0, "Python dependencies installed")
        return True

    async def _unchanged(self, current: InstalledRecord, reporter: Progress) -> InstallResult:
        manifest = await self.read_manifest(current.plugin_id)
        await reporter.report(Stage.ACTIVATING, 1.0, f"Already up to date ({current.version})")
        return InstallResult(
            current.plugin_id,
            current.version,
            str(manifest.get("name", current.plugin_id)),
            current.source.redacted(),
            manifest,
            previous_version=current.version,
            updated=False,
        )
