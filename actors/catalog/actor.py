"""The catalog actor: registry look-ups and listings, and the installed plugins as users see them.

It owns the one ``Registry`` (and so ``cache/``, its only writer); everyone else asks it for
entries. Installed manifests come through the installer's read-only methods, states from the
state actor. A first registry load runs in the background at start, so an offline device
starts at once and reports the registry as unreachable.
"""

from __future__ import annotations

from typing import Any

import structlog

from actors.errors import PlugvisorError
from actors.health_reasons import GetHealthReasons, HealthReason
from actors.installer import InstalledRecord, Installer, Registry, RegistryEntry, RegistrySnapshot
from actors.installer.compat import compare_versions
from actors.state.messages import GetAllStates
from actors.timeutil import now_iso
from supervision import Actor, ActorRef, handles

from .messages import ListInstalled, ListStore, RefreshRegistry, ResolveRegistryEntry

log = structlog.get_logger(__name__)


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


def _installed_version(
    entry: RegistryEntry,
    by_entry: dict[str, str],
    records: dict[str, InstalledRecord | None],
) -> tuple[bool, str | None]:
    """Whether ``entry`` is installed, and its version (``"unknown"`` without a record).

    An installed plugin is this entry's when its install record names the entry, or when
    its id is the entry's id or the last segment of its plugin_path (a registry id and a
    manifest id may differ: ``weather`` lands as ``ledmatrix-weather``).
    """
    if entry.id in by_entry:
        return True, by_entry[entry.id]
    names = [entry.id]
    if entry.plugin_path:
        names.append(entry.plugin_path.rstrip("/").split("/")[-1])
    for name in names:
        if name in records:
            record = records[name]
            return True, record.version if record else "unknown"
    return False, None


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

    async def started(self) -> None:
        self.spawn(self._first_load(), name="registry-first-load")

    async def _first_load(self) -> None:
        await self._load(force=False)

    async def _load(self, *, force: bool) -> RegistrySnapshot | None:
        try:
            return await self._registry.load(force=force)
        except PlugvisorError:
            return None
        finally:
            self._observe()

    def _observe(self) -> None:
        """The health reason follows the registry's last read."""
        message = self._registry.problem
        if message is None:
            self._registry_error = None
            return
        if self._registry_error is None or self._registry_error[0] != message:
            log.warning("registry_unreachable", error=message)
        since = self._registry_error[1] if self._registry_error else now_iso()
        self._registry_error = (message, since)

    async def _snapshot(self) -> RegistrySnapshot | None:
        return self._registry.snapshot or await self._load(force=False)

    @handles(ResolveRegistryEntry)
    async def resolve(self, msg: ResolveRegistryEntry) -> RegistryEntry:
        try:
            return await self._registry.resolve(msg.plugin_id)
        finally:
            self._observe()

    @handles(RefreshRegistry)
    async def refresh(self, msg: RefreshRegistry) -> dict[str, Any]:
        snapshot = await self._load(force=True)
        return {"plugin_count": len(snapshot.plugins) if snapshot else 0, **self._status(snapshot)}

    @handles(ListStore)
    async def list_store(self, msg: ListStore) -> dict[str, Any]:
        snapshot = await self._snapshot()
        records = await self._installed_records()
        by_entry = {
            record.source.registry_id: record.version
            for record in records.values()
            if record is not None and record.source.type == "registry" and record.source.registry_id
        }
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
            installed, installed_version = _installed_version(entry, by_entry, records)
            plugins.append(
                {
                    **_public_entry(entry),
                    "installed": installed,
                    "installed_version": installed_version,
                }
            )
        return {"plugins": plugins, "registry": self._status(snapshot)}

    def _status(self, snapshot: RegistrySnapshot | None) -> dict[str, Any]:
        """How good the copy behind an answer is; ``available`` False: there is none."""
        return {
            "available": snapshot is not None,
            "fetched_at": snapshot.fetched_at if snapshot else None,
            "stale": snapshot.stale if snapshot else True,
            "error": (snapshot.error if snapshot else None) or self._error_text(),
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

    async def _installed_records(self) -> dict[str, InstalledRecord | None]:
        return {
            plugin_id: await self._installer.installed_record(plugin_id)
            for plugin_id in await self._installer.installed_ids()
        }

    def _error_text(self) -> str | None:
        return self._registry_error[0] if self._registry_error else None
