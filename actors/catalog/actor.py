"""The catalog actor: registry look-ups and listings, and the installed plugins as users see them.

It owns the one ``Registry`` (and so ``cache/``, its only writer); everyone else asks it for
entries. Installed manifests, install records and states come from the state actor, which
reads them when they change; the installed listing is composed and serialised again only when
the state's revision or the registry copy changed. A first registry load runs in the
background at start, so an offline device starts at once and reports the registry as
unreachable.
"""

from __future__ import annotations

from typing import Any

import structlog

from actors.errors import PlugvisorError
from actors.health_reasons import GetHealthReasons, HealthReason
from actors.installer import InstalledRecord, Installer, Registry, RegistryEntry, RegistrySnapshot
from actors.installer.compat import compare_versions
from actors.rendered import Rendered, render
from actors.state.disk import DiskPlugin
from actors.state.messages import GetInstalledFacts, InstalledChanged, InstalledFacts
from actors.timeutil import now_iso
from supervision import Actor, ActorRef, handles

from .messages import (
    ListInstalled,
    ListInstalledRendered,
    ListStore,
    RefreshRegistry,
    ResolveRegistryEntry,
)

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


def _describe(
    disk: DiskPlugin, state: dict[str, Any], snapshot: RegistrySnapshot | None
) -> dict[str, Any]:
    """One installed plugin as the listing shows it (the same fields whatever its manifest)."""
    plugin_id = disk.plugin_id
    manifest = disk.manifest or {}
    manifest_error = f"Plugin '{plugin_id}': {disk.error}" if disk.error is not None else None
    record = disk.record
    version = (record.version if record else None) or manifest.get("version")
    registry_id = (record.source.registry_id if record else None) or plugin_id
    entry = snapshot.find(registry_id) if snapshot else None
    latest = entry.latest_version if entry else None
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
        self._facts = InstalledFacts(-1, ())  # the state's plugins at its last revision
        # Once the state tells us of its changes (InstalledChanged), the facts are asked again
        # only after one; until then, at every listing (the state answers cheaply if unchanged).
        self._followed = False
        self._stale = True
        # The installed listing, for (state revision, registry snapshot) it was made from.
        self._listed: tuple[int, RegistrySnapshot | None, list[dict[str, Any]]] | None = None
        self._listed_rendered: Rendered | None = None

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
        records = {disk.plugin_id: disk.record for disk, _ in (await self._installed()).plugins}
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
        return await self._listing()

    @handles(ListInstalledRendered)
    async def list_installed_rendered(self, msg: ListInstalledRendered) -> Rendered:
        plugins = await self._listing()
        if self._listed_rendered is None:
            self._listed_rendered = render({"plugins": plugins})
        return self._listed_rendered

    @handles(InstalledChanged)
    def installed_changed(self, msg: InstalledChanged) -> None:
        self._followed = True
        if msg.revision > self._facts.revision:
            self._stale = True

    async def _installed(self) -> InstalledFacts:
        """The state's plugins, asked again only when they may have changed."""
        if self._followed and not self._stale:
            return self._facts
        facts: InstalledFacts = await self._state.ask(
            GetInstalledFacts(self._facts.revision), timeout=self._timeout
        )
        if facts.plugins is not None:
            self._facts = facts
        self._stale = False
        return self._facts

    async def _listing(self) -> list[dict[str, Any]]:
        facts = await self._installed()
        snapshot = self._registry.snapshot  # never wait for the network to list what is here
        listed = self._listed
        if listed is not None and listed[0] == facts.revision and listed[1] is snapshot:
            return listed[2]
        plugins = [_describe(disk, view, snapshot) for disk, view in facts.plugins or ()]
        self._listed = (facts.revision, snapshot, plugins)
        self._listed_rendered = None
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

    def _error_text(self) -> str | None:
        return self._registry_error[0] if self._registry_error else None
