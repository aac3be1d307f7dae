"""Where schemas come from: the main and schedule schemas in config/schemas, and plugin schemas."""

from __future__ import annotations

import hashlib
import os
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

from actors.errors import ErrorCode, PlugvisorError

from .validation import Checker, plugin_schema, registry_of

SHIPPED_CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SCHEDULE_KEYS = ("schedule", "dim_schedule")


class SystemSchemas:
    """The shipped main and schedule schemas; their checkers are built on first use.

    ``stamp`` names a set of system keys together with these exact schemas, so a config
    that carries the stamp of its own system keys was checked against them before
    (``loading.ConfigFiles``), and a start needs no validator for it.
    """

    def __init__(self, main_raw: bytes, schedule_raw: bytes) -> None:
        self._main_doc = orjson.loads(main_raw)
        self._schedule_doc = orjson.loads(schedule_raw)
        self._digest = hashlib.sha256(b"%d:%b%b" % (len(main_raw), main_raw, schedule_raw)).digest()

    @classmethod
    def load(cls, folder: Path = SHIPPED_CONFIG_DIR / "schemas") -> SystemSchemas:
        return cls(
            (folder / "main.schema.json").read_bytes(),
            (folder / "schedule.schema.json").read_bytes(),
        )

    @cached_property
    def main(self) -> Checker:
        registry = registry_of(self._main_doc, self._schedule_doc)
        return Checker(self._main_doc, registry, trusted=True)

    @cached_property
    def schedule(self) -> Checker:
        registry = registry_of(self._main_doc, self._schedule_doc)
        return Checker(self._schedule_doc, registry, trusted=True)

    def stamp(self, system: dict[str, Any]) -> str:
        """A digest of ``system`` (the config's system keys) and of both schema files."""
        keys = orjson.dumps(system, option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(self._digest + keys).hexdigest()[:32]

    def main_errors(self, system: dict[str, Any]) -> list[dict[str, str]]:
        errors = self.main.errors(system)
        for key in SCHEDULE_KEYS:
            errors += per_day_errors(system.get(key), f"/{key}")
        return errors

    def schedule_errors(self, schedule: dict[str, Any]) -> list[dict[str, str]]:
        return self.schedule.errors(schedule) + per_day_errors(schedule, "")


def per_day_errors(schedule: Any, path: str) -> list[dict[str, str]]:
    """Per-day mode needs one enabled day (a day not listed counts as enabled)."""
    if not isinstance(schedule, dict) or schedule.get("mode") != "per-day":
        return []
    days = schedule.get("days")
    if not isinstance(days, dict):
        return []
    for day in WEEKDAYS:
        entry = days.get(day)
        if not isinstance(entry, dict) or entry.get("enabled", True) is not False:
            return []
    return [{"path": f"{path}/days", "message": "at least one day must be enabled in per-day mode"}]


DEFAULT_SCHEMA_FILE = "config_schema.json"


class PluginSchemas:
    """Reads plugins/ (never writes it): installed check and each plugin's compiled schema."""

    def __init__(self, plugins_dir: Path) -> None:
        self._plugins_dir = plugins_dir
        self._cache: dict[str, tuple[tuple[int, int, int] | None, Checker]] = {}

    def installed(self, plugin_id: str) -> bool:
        return (self._plugins_dir / plugin_id / "manifest.json").is_file()

    def require_installed(self, plugin_id: str) -> None:
        if not self.installed(plugin_id):
            raise PlugvisorError(
                ErrorCode.PLUGIN_NOT_FOUND,
                f"Plugin '{plugin_id}' is not installed",
                context={"plugin_id": plugin_id},
            )

    def schema_path(self, plugin_id: str) -> Path:
        """The schema file the manifest names (``config_schema``), else ``config_schema.json``.

        The installer refused any name that leaves the plugin's folder; a manifest edited
        since is checked again here.
        """
        folder = self._plugins_dir / plugin_id
        try:
            manifest = orjson.loads((folder / "manifest.json").read_bytes())
        except (OSError, orjson.JSONDecodeError):
            manifest = None
        name = manifest.get("config_schema") if isinstance(manifest, dict) else None
        if not isinstance(name, str) or not name.strip():
            return folder / DEFAULT_SCHEMA_FILE
        relative = PurePosixPath(name)
        if relative.is_absolute() or "\\" in name or any(p in ("..", ".") for p in relative.parts):
            raise self._broken(plugin_id, "manifest.json names a schema outside the plugin")
        return folder / relative

    def checker(self, plugin_id: str) -> Checker:
        """The plugin's schema plus the core properties (only those without a schema file)."""
        path = self.schema_path(plugin_id)
        try:
            st = os.stat(path)
            signature: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            signature = None
        cached = self._cache.get(plugin_id)
        if cached is not None and cached[0] == signature:
            return cached[1]
        raw = None if signature is None else self._read(plugin_id, path)
        try:  # the core properties alone are ours and valid: no schema check for them
            checker = Checker(plugin_schema(raw), trusted=raw is None)
        except PlugvisorError as exc:
            raise self._broken(plugin_id, exc.details) from None
        self._cache[plugin_id] = (signature, checker)
        return checker

    def _read(self, plugin_id: str, path: Path) -> dict[str, Any]:
        try:
            raw = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise self._broken(plugin_id, type(exc).__name__) from None
        if not isinstance(raw, dict):
            raise self._broken(plugin_id, "the schema is not a JSON object")
        return raw

    @staticmethod
    def _broken(plugin_id: str, details: str | None) -> PlugvisorError:
        return PlugvisorError(
            ErrorCode.CONFIG_LOAD_FAILED,
            f"The configuration schema of plugin '{plugin_id}' cannot be used",
            details=details,
            context={"plugin_id": plugin_id},
            suggested_fixes=["Reinstall or update the plugin"],
        )
