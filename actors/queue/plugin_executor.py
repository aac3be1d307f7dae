"""The queue's executor for plugins: the installer does the files, then the config follows.

``prepare`` is the cancellable part (the installer's own cancellation rolls the files back);
the commit that follows writes the config side of the change. The state actor derives its view
from both and follows the operation's final event. After a crash, :meth:`settle` rolls each
operation the process died under forward (its files had landed) or reports it rolled back.
"""

from __future__ import annotations

from typing import Any

import structlog

from actors.catalog.messages import ResolveRegistryEntry
from actors.config_store.messages import DropPluginConfig, EnsurePluginEntry, GetPluginConfig
from actors.errors import ErrorCode, PlugvisorError
from actors.installer import Installer, InstallResult, RegistryEntry, Stage
from actors.state.messages import RescanPlugins
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
            await self._state.ask(RescanPlugins(), timeout=self._timeout)

    async def prepare(self, op: Operation, report: Report, private: dict[str, Any]) -> Commit:
        params, op_id = op.parameters, op.operation_id
        if op.operation_type == "install":
            if "repo_url" in params:
                result = await self._installer.install_from_url(
                    private.get("repo_url", params["repo_url"]),
                    plugin_id=params.get("plugin_id"),
                    plugin_path=params.get("plugin_path"),
                    branch=params.get("branch"),
                    progress=report,
                    operation_id=op_id,
                )
            elif "archive_sha256" in params:
                payload = private.get("archive")
                if payload is None:
                    raise PlugvisorError(
                        ErrorCode.PLUGIN_INSTALL_FAILED,
                        "The uploaded archive is no longer available; upload it again",
                    )
                result = await self._installer.install_from_archive(
                    payload,
                    params.get("filename") or "plugin.zip",
                    progress=report,
                    operation_id=op_id,
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
                    operation_id=op_id,
                )
            return lambda: self._commit_install(op, result)
        if op.operation_type == "update":
            assert op.plugin_id is not None
            entry = await self._entry_for_update(op.plugin_id)
            result = await self._installer.update(
                op.plugin_id, registry_entry=entry, progress=report, operation_id=op_id
            )
            return lambda: self._commit_update(result)
        if op.operation_type == "uninstall":
            assert op.plugin_id is not None
            await self._installer.uninstall(op.plugin_id, progress=report)
            return lambda: self._commit_uninstall(op, op.plugin_id or "")
        raise PlugvisorError(ErrorCode.INVALID_INPUT, f"Unknown operation '{op.operation_type}'")

    async def _entry_for_update(self, plugin_id: str) -> RegistryEntry | None:
        """The registry's entry now for a plugin installed from it; None if it left it."""
        record = await self._installer.installed_record(plugin_id)
        if record is None or record.source.type != "registry":
            return None
        try:
            return await self._catalog.ask(
                ResolveRegistryEntry(record.source.registry_id or plugin_id),
                timeout=self._timeout,
            )
        except PlugvisorError as exc:
            if exc.code is ErrorCode.PLUGIN_NOT_FOUND:
                return None  # the installer answers that it is no longer in the registry
            raise

    async def settle(self, op: Operation) -> dict[str, Any] | None:
        """Finish ``op``, which was running when the process died, if its files had landed.

        Call after :meth:`recover`, which has already undone every landing short of its
        commit point. Returns the result of the finished operation, or ``None`` when nothing
        of it remains (it was rolled back). Idempotent: a crash while settling settles again.
        """
        if op.operation_type in ("install", "update"):
            plugin_id = await self._installer.landed_by(op.operation_id)
            if plugin_id is None:
                return None
            record = await self._installer.installed_record(plugin_id)
            version = record.version if record else None
            if op.operation_type == "update":
                message = f"Plugin {plugin_id} updated to {version}"
                return {"plugin_id": plugin_id, "version": version, "message": message}
            enabled = await self._ensure_config(op, plugin_id)
            message = f"Plugin {plugin_id} {version} installed"
            return {
                "plugin_id": plugin_id,
                "version": version,
                "enabled": enabled,
                "message": message,
            }
        if op.operation_type == "uninstall" and op.plugin_id is not None:
            if await self._installer.is_installed(op.plugin_id):
                return None  # the removal was undone: the plugin is as it was
            return await self._commit_uninstall(op, op.plugin_id)
        return None

    async def _commit_install(self, op: Operation, result: InstallResult) -> dict[str, Any]:
        enabled = await self._ensure_config(op, result.plugin_id)
        verb = "reinstalled" if result.previous_version else "installed"
        return {
            **result.to_dict(),
            "enabled": enabled,
            "message": f"Plugin {result.plugin_id} {result.version} {verb}",
        }

    async def _ensure_config(self, op: Operation, plugin_id: str) -> bool:
        """Give the plugin its config section (a kept one keeps its values); its ``enabled``."""
        await self._config.ask(
            EnsurePluginEntry(plugin_id, enabled=self._enable_on_install, user=op.user),
            timeout=self._timeout,
        )
        view = await self._config.ask(GetPluginConfig(plugin_id), timeout=self._timeout)
        return bool(view.data.get("enabled", self._enable_on_install))

    async def _commit_update(self, result: InstallResult) -> dict[str, Any]:
        if result.updated:
            message = f"Plugin {result.plugin_id} updated to {result.version}"
        else:
            message = f"Plugin {result.plugin_id} is already up to date ({result.version})"
        return {**result.to_dict(), "message": message}

    async def _commit_uninstall(self, op: Operation, plugin_id: str) -> dict[str, Any]:
        preserve = bool(op.parameters.get("preserve_config", False))
        warnings: list[str] = []
        if not preserve:
            try:
                await self._config.ask(
                    DropPluginConfig(plugin_id, user=op.user), timeout=self._timeout
                )
            except PlugvisorError as exc:  # the plugin is gone all the same: say what is left
                log.warning("uninstall_config_drop_failed", plugin_id=plugin_id, error=exc.message)
                warnings.append(f"Its configuration could not be removed: {exc.message}")
        return {
            "plugin_id": plugin_id,
            "preserve_config": preserve,
            "warnings": warnings,
            "message": f"Plugin {plugin_id} uninstalled"
            + (" (configuration kept)" if preserve else ""),
        }
