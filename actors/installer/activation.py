"""Landing a verified plugin in plugins/ and taking one out, one at a time, undone on failure."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog

from actors.errors import ErrorCode, PlugvisorError
from actors.installer.blocking import run_blocking, run_to_completion
from actors.installer.inventory import Inventory
from actors.installer.landing import Intent, Lander, Workspace
from actors.installer.progress import Progress, Stage
from actors.installer.results import InstalledRecord, PluginSource, RecoveryReport

log = structlog.get_logger(__name__)


def accept_late_cancel(blog: Any) -> None:
    """A cancel that arrived after the commit point: the operation did complete, so report that."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()
    blog.warning("cancel_after_commit_ignored")


class Activator:
    """Serialises every change to plugins/; before its commit point each change can be undone."""

    def __init__(self, lander: Lander, inventory: Inventory) -> None:
        self.lander = lander
        self.inventory = inventory
        self._lock = asyncio.Lock()

    async def land(
        self,
        ws: Workspace,
        plugin_id: str,
        version: str,
        source: PluginSource,
        reporter: Progress,
        operation_id: str | None = None,
    ) -> tuple[InstalledRecord | None, bool]:
        """Swap ``ws.tree`` into plugins/<plugin_id>, keeping the old copy until the commit.

        Returns the replaced copy's record, and whether a cancel arrived after the commit point
        (the change stands regardless).
        """
        async with self._lock:
            previous = await run_blocking(
                self.inventory.write_record, ws, plugin_id, version, source, operation_id
            )
            intent = await self._prepare(self.lander.prepare_land, ws, plugin_id)
            try:
                if intent.had_previous:
                    await reporter.report(Stage.ACTIVATING, 0.2, "Setting the installed copy aside")
                    await run_blocking(self.lander.set_aside, ws, intent)
                await reporter.report(Stage.ACTIVATING, 0.4, "Moving the new copy into place")
                await run_blocking(self.lander.move_in, ws, intent)
                await reporter.report(Stage.ACTIVATING, 0.7, "Checking the new copy in place")
                await run_blocking(self.inventory.check_landed, plugin_id, version)
                intent = await run_blocking(self.lander.commit_land, ws, intent)
            except BaseException:
                await self._undo(ws, intent)
                raise
            _, cancelled = await run_to_completion(run_blocking(self.lander.finish, ws, intent))
        message = f"Plugin {plugin_id} {version} is installed"
        cancelled = await reporter.done(Stage.ACTIVATING, message) or cancelled
        return previous, cancelled

    async def remove(self, plugin_id: str, reporter: Progress) -> bool:
        """Take plugins/<plugin_id> out and tombstone the id; same return as :meth:`land`."""
        async with self._lock:
            target = await run_blocking(
                self.lander.target, plugin_id, ErrorCode.PLUGIN_UNINSTALL_FAILED
            )
            if not await run_blocking(target.is_dir):
                raise PlugvisorError(
                    ErrorCode.PLUGIN_NOT_FOUND, f"Plugin '{plugin_id}' is not installed"
                )
            ws = await run_blocking(self.lander.new_workspace, "uninstall")
            try:
                intent = await self._prepare(self.lander.prepare_remove, ws, plugin_id)
            except BaseException:
                await run_to_completion(run_blocking(self.lander.discard, ws))
                raise
            try:
                await run_blocking(self.lander.take_out, ws, intent)
                await reporter.report(Stage.REMOVING, 0.5, "Plugin folder taken out of plugins/")
                intent = await run_blocking(self.lander.commit_remove, ws, intent)
            except BaseException:
                await self._undo(ws, intent)
                raise
            _, cancelled = await run_to_completion(run_blocking(self.lander.finish, ws, intent))
        message = f"Plugin {plugin_id} removed"
        return await reporter.done(Stage.REMOVING, message) or cancelled

    async def recover(self) -> RecoveryReport:
        async with self._lock:
            return await run_blocking(self.lander.recover)

    async def _prepare(
        self, prepare: Callable[[Workspace, str], Intent], ws: Workspace, plugin_id: str
    ) -> Intent:
        """Write the intent record; if that is interrupted nothing has moved, so drop the record."""
        try:
            return await run_blocking(prepare, ws, plugin_id)
        except BaseException:
            await run_to_completion(run_blocking(self.lander.forget, ws))
            raise

    async def _undo(self, ws: Workspace, intent: Intent) -> None:
        try:
            await run_to_completion(run_blocking(self.lander.undo, ws, intent))
        except Exception:  # leave the intent record: recover() finishes the job at the next start
            log.exception("undo_failed", plugin_id=intent.plugin_id, op=ws.op_id)
