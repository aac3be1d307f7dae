"""The queue's executor for plugins: the installer does the files, then config and state follow.

``prepare`` is the cancellable part (the installer's own cancellation rolls the files back);
the commit that follows records the landed result in the config store and the state actor.
"""

from __future__ import annotations

from typing import Any

import structlog

from actors.catalog.messages import ResolveRegistryEntry
from actors.config_store.messages import DropPluginConfig, EnsurePluginEntry, GetPluginConfig
from actors.errors import ErrorCode, PlugvisorError
from actors.installer import Installer, InstallResult, RegistryEntry, Stage
from actors.state.messages import RemoveState, SetInstalled, SetUpdated
from supervision import ActorRef

from .executor import Commit, Report
from .records import Operation

log = structlog.get_logger(__name__)


class PluginExecutor:
    def __init__(
        self,
        installer: Installer,
        config_store: ActorRef,
        state: ActorRef,
        catalog: ActorRef,
        *,
        ask_timeout_s: float = 30.0,
        enable_on_install: bool = True,
    ) -> None:
        self._installer = installer
        self._config = config_store
        self._state = state
        self._catalog = catalog  # owns the registry: entries are asked of it, as they are now
        self._timeout = ask_timeout_s
        self._enable_on_install = enable_on_install

    async def recover(self) -> None:
        report = await self._installer.recover()
        if not report.clean:
            log.warning("installer_recovered_after_crash", **report.to_dict())

    async def prepare(self, op: Operation, report: Report, private: dict[str, Any]) -> Commit:
        params = op.parameters
        if op.operation_type == "install":
            if "repo_url" in params:
                result = await self._installer.install_from_url(
                    private.get("repo_url", params["repo_url"]),
                    plugin_id=params.get("plugin_id"),
                    plugin_path=params.get("plugin_path"),
                    branch=params.get("branch"),
                    progress=report,
                )
            elif "archive_sha256" in params:
                payload = private.get("archive")
                if payload is None:
                    raise PlugvisorError(
                        ErrorCode.PLUGIN_INSTALL_FAILED,
                        "The uploaded archive is no longer available; upload it again",
                    )
                result = await self._installer.install_from_archive(
                    payload, params.get("filename") or "plugin.zip", progress=report
                )
            else:
                assert op.plugin_id is not None
                report(Stage.RESOLVING.value, 0.0, "Looking the plugin up in the registry")
                entry = await self._catalog.ask(
                    ResolveRegistryEntry(op.plugin_id), timeout=self._timeout
                )
                result = await self._installer.install_from_registry(
                    entry,
                    requested_id=op.plugin_id,
                    branch=params.get("branch"),
                    version=params.get("version"),
                    progress=report,
                )
            return lambda: self._commit_install(op, result)
        if op.operation_type == "update":
            assert op.plugin_id is not None
            entry = await self._entry_for_update(op.plugin_id)
            result = await self._installer.update(
                op.plugin_id, registry_entry=entry, progress=report
            )
            return lambda: self._commit_update(op, result)
        if op.operation_type == "uninstall":
            assert op.plugin_id is not None
            await self._installer.uninstall(op.plugin_id, progress=report)
            return lambda: self._commit_uninstall(op)
        raise PlugvisorError(ErrorCode.INVALID_INPUT, f"Unknown operation '{op.operation_type}'")

    async def _entry_for_update(self, plugin_id: str) -> RegistryEntry | None:
        """The registry's entry now for a plugin installed from it; None if it left it."""
        source = await self._installer.source_of(plugin_id)
        if source is None or source.type != "registry":
            return None
        try:
            return await self._catalog.ask(
                ResolveRegistryEntry(source.registry_id or plugin_id), timeout=self._timeout
            )
        except PlugvisorError as exc:
            if exc.code is ErrorCode.PLUGIN_NOT_FOUND:
                return None  # the installer answers that it is no longer in the registry
            raise

    async def _commit_install(self, op: Operation, result: InstallResult) -> dict[str, Any]:
        op.plugin_id = result.plugin_id  # an install from a URL learns its id from the manifest
        await self._config.ask(
            EnsurePluginEntry(result.plugin_id, enabled=self._enable_on_install, user=op.user),
            timeout=self._timeout,
        )
        enabled = await self._enabled_after_ensure(result.plugin_id)
        await self._state.ask(
            SetInstalled(
                result.plugin_id,
                version=result.version,
                source=result.source.public(),
                enabled=enabled,
                operation_id=op.operation_id,
            ),
            timeout=self._timeout,
        )
        verb = "reinstalled" if result.previous_version else "installed"
        return {
            **result.to_dict(),
            "enabled": enabled,
            "message": f"Plugin {result.plugin_id} {result.version} {verb}",
        }

    async def _enabled_after_ensure(self, plugin_id: str) -> bool:
        """The plugin's ``enabled`` as the config now says (a kept section keeps its value)."""
        view = await self._config.ask(GetPluginConfig(plugin_id), timeout=self._timeout)
        return bool(view.data.get("enabled", self._enable_on_install))

    async def _commit_update(self, op: Operation, result: InstallResult) -> dict[str, Any]:
        if result.updated:
            await self._state.ask(
                SetUpdated(result.plugin_id, version=result.version, operation_id=op.operation_id),
                timeout=self._timeout,
            )
            message = f"Plugin {result.plugin_id} updated to {result.version}"
        else:
            message = f"Plugin {result.plugin_id} is already up to date ({result.version})"
        return {**result.to_dict(), "message": message}

    async def _commit_uninstall(self, op: Operation) -> dict[str, Any]:
        assert op.plugin_id is not None
        preserve = bool(op.parameters.get("preserve_config", False))
        warnings: list[str] = []
        if not preserve:
            try:
                await self._config.ask(
                    DropPluginConfig(op.plugin_id, user=op.user), timeout=self._timeout
                )
            except PlugvisorError as exc:
                log.warning(
                    "uninstall_config_drop_failed", plugin_id=op.plugin_id, error=exc.message
                )
                warnings.append(f"Its configuration could not be removed: {exc.message}")
        await self._state.ask(
            RemoveState(op.plugin_id, operation_id=op.operation_id), timeout=self._timeout
        )
        return {
            "plugin_id": op.plugin_id,
            "preserve_config": preserve,
            "warnings": warnings,
            "message": f"Plugin {op.plugin_id} uninstalled"
            + (" (configuration kept)" if preserve else ""),
        }
