"""Staging folders under tmp/ and rename-based landing in plugins/, with intent records for crashes.

Rule: an operation that had not committed when it stopped is undone; a committed one is finished.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import stat
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

import orjson
import structlog

from actors.errors import ErrorCode, PlugvisorError
from actors.fsio import Syncer, atomic_write, dumps, remove_stale_temps
from actors.installer.results import RecoveryAction, RecoveryReport
from actors.installer.tombstones import Tombstones
from actors.paths import DataPaths
from actors.plugin_ids import is_valid_plugin_id, validate_plugin_id

log = structlog.get_logger(__name__)

INTENT_SUFFIX = ".intent.json"
_OP_ID = re.compile(r"^[a-z]+-[0-9a-f]{16}$")

Phase = Literal["prepared", "committed", "rolling_back"]


@dataclass(frozen=True, slots=True)
class Workspace:
    """``tmp/<op_id>/``: everything one operation writes before it lands."""

    op_id: str
    dir: Path

    @property
    def tree(self) -> Path:  # the verified plugin, ready to land
        return self.dir / "tree"

    @property
    def previous(self) -> Path:  # the installed copy, set aside while the new one lands
        return self.dir / "previous"

    @property
    def removed(self) -> Path:  # an uninstalled copy on its way out
        return self.dir / "removed"

    @property
    def failed(self) -> Path:  # a landed copy being taken back out
        return self.dir / "failed"


@dataclass(frozen=True, slots=True)
class Intent:
    op_id: str
    kind: Literal["land", "remove"]
    plugin_id: str
    phase: Phase
    had_previous: bool
    was_tombstoned: bool


def remove_path(path: Path) -> None:
    """Delete a file, link or folder tree without following links; missing is fine."""

    def make_writable(_func: Any, failed: str, _exc: Any) -> None:
        parent = os.path.dirname(failed)
        with contextlib.suppress(OSError):
            os.chmod(parent, stat.S_IRWXU)
        with contextlib.suppress(FileNotFoundError):
            if os.path.isdir(failed) and not os.path.islink(failed):
                shutil.rmtree(failed)
            else:
                os.unlink(failed)

    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=make_writable)
        else:
            shutil.rmtree(path, onerror=make_writable)


class Lander:
    """Owns ``tmp/`` and the renames into and out of ``plugins/``. Every method blocks."""

    def __init__(
        self, paths: DataPaths, tombstones: Tombstones, syncer: Syncer | None = None
    ) -> None:
        self.paths = paths
        self.tombstones = tombstones
        self.syncer = syncer or Syncer()

    # -- folders -------------------------------------------------------------------------------

    def target(self, plugin_id: str, code: ErrorCode = ErrorCode.INVALID_INPUT) -> Path:
        """``plugins/<plugin_id>``, only if it resolves to a direct child of plugins/."""
        validate_plugin_id(plugin_id)
        plugins = self.paths.plugins_dir.resolve()
        candidate = plugins / plugin_id
        resolved = candidate.resolve()
        if resolved.parent != plugins or resolved.name != plugin_id:
            raise PlugvisorError(
                code, f"Plugin '{plugin_id}' does not name a folder inside plugins/"
            )
        return candidate

    def new_workspace(self, kind: str) -> Workspace:
        self.paths.tmp_dir.mkdir(parents=True, exist_ok=True)
        self.paths.plugins_dir.mkdir(parents=True, exist_ok=True)
        op_id = f"{kind}-{secrets.token_hex(8)}"
        folder = self.paths.tmp_dir / op_id
        folder.mkdir(mode=0o700)
        return Workspace(op_id, folder)

    def discard(self, ws: Workspace) -> None:
        """Remove a workspace unless an unresolved intent still needs it (then recover() will)."""
        if not self._intent_path(ws.op_id).exists():
            remove_path(ws.dir)

    def forget(self, ws: Workspace) -> None:
        """Drop the intent record of an operation that has not moved anything yet."""
        self._intent_path(ws.op_id).unlink(missing_ok=True)

    # -- intent records ------------------------------------------------------------------------

    def _intent_path(self, op_id: str) -> Path:
        return self.paths.tmp_dir / f"{op_id}{INTENT_SUFFIX}"

    def _write_intent(self, intent: Intent) -> Intent:
        atomic_write(self._intent_path(intent.op_id), dumps(asdict(intent)), syncer=self.syncer)
        return intent

    def _read_intent(self, path: Path) -> Intent | None:
        try:
            data = orjson.loads(path.read_bytes())
            intent = Intent(**data)
        except (OSError, orjson.JSONDecodeError, TypeError):
            return None
        valid = (
            _OP_ID.match(intent.op_id)
            and path.name == f"{intent.op_id}{INTENT_SUFFIX}"
            and intent.kind in ("land", "remove")
            and is_valid_plugin_id(intent.plugin_id)
        )
        return intent if valid else None

    def _sync_dirs(self, *folders: Path) -> None:
        for folder in folders:
            self.syncer.fsync_dir(folder)

    # -- landing a new copy --------------------------------------------------------------------

    def _prepare(self, ws: Workspace, kind: Literal["land", "remove"], target: Path) -> Intent:
        intent = Intent(
            op_id=ws.op_id,
            kind=kind,
            plugin_id=target.name,
            phase="prepared",
            had_previous=os.path.lexists(target),
            was_tombstoned=self.tombstones.contains(target.name),
        )
        return self._write_intent(intent)

    def prepare_land(self, ws: Workspace, plugin_id: str) -> Intent:
        """Flush the staged tree to disk and record what is about to happen."""
        target = self.target(plugin_id)
        os.sync()  # the staged files must be durable before a rename makes them visible
        return self._prepare(ws, "land", target)

    def set_aside(self, ws: Workspace, intent: Intent) -> None:
        if intent.had_previous:
            os.rename(self.target(intent.plugin_id), ws.previous)
            self._sync_dirs(self.paths.plugins_dir, ws.dir)

    def move_in(self, ws: Workspace, intent: Intent) -> None:
        os.rename(ws.tree, self.target(intent.plugin_id))
        self._sync_dirs(ws.dir, self.paths.plugins_dir)

    def commit_land(self, ws: Workspace, intent: Intent) -> Intent:
        """The point of no return: the tombstone goes, then the intent says committed."""
        self.tombstones.set(intent.plugin_id, False)
        return self._write_intent(replace(intent, phase="committed"))

    # -- taking a copy out ---------------------------------------------------------------------

    def prepare_remove(self, ws: Workspace, plugin_id: str) -> Intent:
        return self._prepare(
            ws, "remove", self.target(plugin_id, ErrorCode.PLUGIN_UNINSTALL_FAILED)
        )

    def take_out(self, ws: Workspace, intent: Intent) -> None:
        os.rename(self.target(intent.plugin_id), ws.removed)
        self._sync_dirs(self.paths.plugins_dir, ws.dir)

    def commit_remove(self, ws: Workspace, intent: Intent) -> Intent:
        self.tombstones.set(intent.plugin_id, True)
        return self._write_intent(replace(intent, phase="committed"))

    # -- finishing or undoing ------------------------------------------------------------------

    def finish(self, ws: Workspace, intent: Intent) -> None:
        """After the commit: make the tombstone agree, then drop the workspace and the intent."""
        self.tombstones.set(intent.plugin_id, intent.kind == "remove")
        remove_path(ws.dir)
        self._intent_path(ws.op_id).unlink(missing_ok=True)
        self._sync_dirs(self.paths.tmp_dir)

    def undo(self, ws: Workspace, intent: Intent) -> None:
        """Put plugins/<id> and the tombstone back as they were before ``intent``; idempotent."""
        self._write_intent(replace(intent, phase="rolling_back"))
        target = self.paths.plugins_dir / intent.plugin_id
        ws.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if intent.kind == "land":
            if os.path.lexists(ws.previous):
                if os.path.lexists(target):
                    os.rename(target, ws.failed)
                os.rename(ws.previous, target)
            elif (
                not intent.had_previous and os.path.lexists(target) and not os.path.lexists(ws.tree)
            ):
                os.rename(target, ws.failed)  # our new copy had landed; nothing was there before
        elif os.path.lexists(ws.removed) and not os.path.lexists(target):
            os.rename(ws.removed, target)
        self._sync_dirs(self.paths.plugins_dir)
        self.tombstones.set(intent.plugin_id, intent.was_tombstoned)
        remove_path(ws.dir)
        self._intent_path(ws.op_id).unlink(missing_ok=True)
        self._sync_dirs(self.paths.tmp_dir)

    # -- after a crash -------------------------------------------------------------------------

    def recover(self) -> RecoveryReport:
        """Finish committed operations, undo the rest, and empty tmp/. Run before any operation."""
        report = RecoveryReport()
        self.tombstones.reload()
        tmp = self.paths.tmp_dir
        for folder in (tmp, self.paths.plugins_dir):
            folder.mkdir(parents=True, exist_ok=True)
        for path in sorted(tmp.glob(f"*{INTENT_SUFFIX}")):
            intent = self._read_intent(path)
            if intent is None:
                continue  # not ours to interpret: removed below with the other debris
            ws = Workspace(intent.op_id, tmp / intent.op_id)
            operation = "install" if intent.kind == "land" else "uninstall"
            if intent.phase == "committed":
                self.finish(ws, intent)
                report.actions.append(
                    RecoveryAction(
                        operation, intent.plugin_id, "completed", "finished after the commit"
                    )
                )
            else:
                self.undo(ws, intent)
                detail = "previous copy restored" if intent.had_previous else "partial copy removed"
                report.actions.append(
                    RecoveryAction(operation, intent.plugin_id, "rolled_back", detail)
                )
            log.warning("recovered_operation", **asdict(report.actions[-1]))
        for entry in sorted(tmp.iterdir()):
            remove_path(entry)
            report.debris_removed.append(entry.name)
        remove_stale_temps(self.paths.plugins_dir)  # cache/ is the catalog's to sweep
        if not report.clean:
            self._sync_dirs(tmp, self.paths.plugins_dir)
        return report
