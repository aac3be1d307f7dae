"""The catalog actor: registry look-ups and listings, and the installed plugins as users see them.

Reads only: the registry through its cache, installed manifests through the installer's
read-only methods, states from the state actor. A first registry load runs in the
background at start, so an offline device starts at once and reports the registry as
unreachable.
"""

from __future__ import annotations

import time
from typing import Any

import structlog

from actors.errors import PlugvisorError
from actors.health_reasons import GetHealthReasons, HealthReason
from actors.installer import Installer, Registry, RegistryEntry, RegistrySnapshot
from actors.installer.compat import compare_versions
from actors.state.messages import GetAllStates
from actors.timeutil import now_iso
from supervision import Actor, ActorRef, handles

from .messages import ListInstalled, ListStore, LookupRegistry, RefreshRegistry

log = structlog.get_logger(__name__)

FORCED_REFRESH_INTERVAL_S = 60.0  # an unknown id re-reads the registry at most this often


def _newer(latest: str | None, installed: str | None) -> bool:
    if not latest or not installed:
        return False
    try:
        return compare_versions(latest, installed) > 0
    except ValueError:
        return False


def _public_entry(entry: RegistryEntry) -> dict[str, Any]:
    data = dict(entry.raw)
    data["id"] = entry.id
    return data


class Catalog(Actor):
    def __init__(
        self,
        installer: Installer,
        registry: Registry,
        state: ActorRef,
        *,
        ask_timeout_s: float = 10.0,
    ) -> None:
        super().__init__()
        self._installer = installer
        self._registry = registry
        self._state = state
        self._timeout = ask_timeout_s
        self._registry_error: tuple[str, str] | None = None  # (message, since)
        self._last_forced = -FORCED_REFRESH_INTERVAL_S

    async def started(self) -> None:
        self.spawn(self._first_load(), name="registry-first-load")

    async def _first_load(self) -> None:
        await self._load(force=False)

    async def _load(self, *, force: bool) -> RegistrySnapshot | None:
        try:
            snapshot = await self._registry.load(force=force)
        except PlugvisorError as exc:
            self._note_error(exc.message)
            return None
        if snapshot.stale:
            self._note_error(snapshot.error or "The registry could not be read")
        else:
            self._registry_error = None
        return snapshot

    def _note_error(self, message: str) -> None:
        since = self._registry_error[1] if self._registry_error else now_iso()
        self._registry_error = (message, since)
        log.warning("registry_unreachable", error=message)

    async def _snapshot(self) -> RegistrySnapshot | None:
        return self._registry.snapshot or await self._load(force=False)

    @handles(LookupRegistry)
    async def lookup(self, msg: LookupRegistry) -> dict[str, Any] | None:
        snapshot = await self._snapshot()
        entry = snapshot.find(msg.plugin_id) if snapshot else None
        now = time.monotonic()
        may_refresh = now - self._last_forced >= FORCED_REFRESH_INTERVAL_S
        if entry is None and snapshot is not None and not snapshot.stale and may_refresh:
            self._last_forced = now  # a plugin published since the last read, at most
            refreshed = await self._load(force=True)  # once a minute
            entry = refreshed.find(msg.plugin_id) if refreshed else None
        return _public_entry(entry) if entry else None

    @handles(RefreshRegistry)
    async def refresh(self, msg: RefreshRegistry) -> dict[str, Any]:
        snapshot = await self._load(force=True)
        if snapshot is None:
            return {
                "plugin_count": 0,
                "fetched_at": None,
                "stale": True,
                "error": self._error_text(),
            }
        return {
            "plugin_count": len(snapshot.plugins),
            "fetched_at": snapshot.fetched_at,
            "stale": snapshot.stale,
            "error": snapshot.error,
        }

    @handles(ListStore)
    async def list_store(self, msg: ListStore) -> dict[str, Any]:
        snapshot = await self._snapshot()
        versions = await self._installed_versions()
        query = (msg.query or "").strip().lower()
        plugins = []
        for entry in snapshot.plugins if snapshot else ():
            raw = entry.raw
            tags = [t for t in raw.get("tags") or [] if isinstance(t, str)]
            text = " ".join(
                str(raw.get(k) or "") for k in ("id", "name", "description", "author")
            ).lower()
            if query and query not in text and query not in " ".join(tags).lower():
                continue
            if msg.category and raw.get("category") != msg.category:
                continue
            if msg.tag and msg.tag not in tags:
                continue
            installed_version = versions.get(entry.id)
            if installed_version is None and entry.plugin_path:
                installed_version = versions.get(entry.plugin_path.rstrip("/").split("/")[-1])
            plugins.append(
                {
                    **_public_entry(entry),
                    "installed": installed_version is not None,
                    "installed_version": installed_version,
                }
            )
        return {
            "plugins": plugins,
            "registry": {
                "fetched_at": snapshot.fetched_at if snapshot else None,
                "stale": snapshot.stale if snapshot else True,
                "error": (snapshot.error if snapshot else None) or self._error_text(),
            },
        }

    @handles(ListInstalled)
    async def list_installed(self, msg: ListInstalled) -> list[dict[str, Any]]:
        states: dict[str, dict[str, Any]] = await self._state.ask(
            GetAllStates(), timeout=self._timeout
        )
        snapshot = self._registry.snapshot  # never wait for the network to list what is here
        plugins = []
        for plugin_id in await self._installer.installed_ids():
            plugins.append(await self._describe(plugin_id, states.get(plugin_id), snapshot))
        return plugins

    @handles(GetHealthReasons)
    def health_reasons(self, msg: GetHealthReasons) -> list[HealthReason]:
        if self._registry_error is None:
            return []
        message, since = self._registry_error
        return [
            HealthReason(
                code="registry_unreachable",
                message="The plugin registry could not be read; installed plugins keep working",
                since=since,
                detail=message,
                remediation="Check the device's network connection or the --registry-url setting",
            )
        ]

    async def _describe(
        self, plugin_id: str, state: dict[str, Any] | None, snapshot: RegistrySnapshot | None
    ) -> dict[str, Any]:
        try:
            manifest = await self._installer.read_manifest(plugin_id)
            manifest_error = None
        except PlugvisorError as exc:
            manifest, manifest_error = {}, exc.message
        record = await self._installer.installed_record(plugin_id)
        version = (record.version if record else None) or manifest.get("version")
        registry_id = (record.source.registry_id if record else None) or plugin_id
        entry = snapshot.find(registry_id) if snapshot else None
        latest = entry.latest_version if entry else None
        state = state or {}
        described = {
            "id": plugin_id,
            "name": manifest.get("name") or plugin_id,
            "version": version,
            "author": manifest.get("author"),
            "description": manifest.get("description"),
            "category": manifest.get("category"),
            "tags": [t for t in manifest.get("tags") or [] if isinstance(t, str)],
            "enabled": bool(state.get("enabled", False)),
            "status": "error" if manifest_error else state.get("status", "unknown"),
            "health": state.get("health", "unknown"),
            "update_available": _newer(latest, version),
            "latest_version": latest,
            "installed_at": (record.installed_at if record else None) or state.get("installed_at"),
            "last_updated": (record.last_updated if record else None) or state.get("last_updated"),
            "source": record.source.public() if record else None,
        }
        if manifest_error:
            described["error"] = manifest_error
        return described

    async def _installed_versions(self) -> dict[str, str | None]:
        versions: dict[str, str | None] = {}
        for plugin_id in await self._installer.installed_ids():
            record = await self._installer.installed_record(plugin_id)
            versions[plugin_id] = record.version if record else "unknown"
        return versions

    def _error_text(self) -> str | None:
        return self._registry_error[0] if self._registry_error else None
