"""The plugin registry (plugins.json) from a URL or file, cached in memory and on disk."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import orjson
import structlog

from actors.damage import Damage, unusable_file
from actors.errors import ErrorCode, PlugvisorError
from actors.fsio import Syncer, atomic_write, dumps, remove_stale_temps
from actors.installer.blocking import run_blocking
from actors.installer.download import Validators
from actors.installer.redact import redact_url
from actors.installer.registry_source import DocumentVersion, RegistrySource
from actors.installer.urls import local_repo_url
from actors.plugin_ids import validate_plugin_id
from actors.timeutil import now_iso

log = structlog.get_logger(__name__)

UNAVAILABLE_FIXES = [
    "Check the device's network connection",
    "Check the --registry-url setting",
    "Try again in a moment",
]
LOST_WITH_CACHE = "the cached copy of the registry, until the registry is reachable again"


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """One plugin of the registry; ``raw`` keeps every field for the store listing."""

    id: str
    name: str
    repo: str  # as published; local paths are already turned into file:// URLs
    branch: str | None
    plugin_path: str | None
    latest_version: str | None
    versions: tuple[dict[str, Any], ...]
    raw: dict[str, Any] = field(repr=False)
    local_repos_allowed: bool = False  # only a local registry may name local repositories

    def version_entry(self, version: str) -> dict[str, Any] | None:
        return next((v for v in self.versions if v.get("version") == version), None)


@dataclass(frozen=True, slots=True)
class RegistrySnapshot:
    plugins: tuple[RegistryEntry, ...]
    fetched_at: str
    stale: bool = False  # True when this copy is served because the registry could not be read
    error: str | None = None  # why it could not be read

    def find(self, plugin_id: str) -> RegistryEntry | None:
        """Exact id first, then the last segment of a non-empty ``plugin_path`` (``weather``)."""
        for entry in self.plugins:
            if entry.id == plugin_id:
                return entry
        for entry in self.plugins:
            if entry.plugin_path and PurePosixPath(entry.plugin_path).name == plugin_id:
                return entry
        return None


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def registry_unavailable(cause: PlugvisorError) -> PlugvisorError:
    """``REGISTRY_UNAVAILABLE``: the registry cannot be read and there is no copy of it."""
    return PlugvisorError(
        ErrorCode.REGISTRY_UNAVAILABLE,
        f"The plugin registry is unreachable and no copy is cached: {cause.message}",
        context={"cause": cause.code.value},
        suggested_fixes=list(UNAVAILABLE_FIXES),
    )


def not_in_registry(plugin_id: str, snapshot: RegistrySnapshot) -> PlugvisorError:
    suffix = " (as of its last copy: the registry cannot be read right now)"
    return PlugvisorError(
        ErrorCode.PLUGIN_NOT_FOUND,
        f"Plugin '{plugin_id}' is not in the plugin registry" + (suffix if snapshot.stale else ""),
        context={"plugin_id": plugin_id},
        suggested_fixes=["Check the plugin id", "Refresh the plugin store"],
    )


def _decode(data: bytes) -> dict[str, Any]:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise PlugvisorError(
            ErrorCode.NETWORK_ERROR, f"The plugin registry is not valid JSON: {exc}"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("plugins"), list):
        raise PlugvisorError(ErrorCode.NETWORK_ERROR, "The plugin registry has no 'plugins' list")
    return document


class Registry:
    """The registry document, re-read only when it changed; on failure the last copy, stale.

    ``source`` is an http(s) URL, a ``file://`` URL or a local path. Only a local registry may
    name local repositories (paths, relative to the registry file, or file:// URLs). The
    catalog actor owns it and is its only user, so ``cache/`` has a single writer.
    """

    def __init__(
        self,
        source: str,
        cache_dir: Path,
        *,
        ttl_s: float = 900.0,
        retry_after_failure_s: float = 60.0,
        timeout_s: float = 15.0,
        attempts: int = 3,
        backoff_s: float = 0.75,
        syncer: Syncer | None = None,
        damage: Damage | None = None,
    ) -> None:
        self.source = source
        self._source = RegistrySource(
            source, timeout_s=timeout_s, attempts=attempts, backoff_s=backoff_s
        )
        self.is_remote = self._source.is_remote
        digest = hashlib.sha256(source.encode()).hexdigest()[:16]
        self.cache_file = cache_dir / f"registry-{digest}.json"
        self.ttl_s = ttl_s
        self.retry_after_failure_s = retry_after_failure_s
        self._syncer = syncer
        self._damage = damage or Damage(cache_dir.parent)
        self._snapshot: RegistrySnapshot | None = None
        self._version: DocumentVersion | None = None  # of the document behind _snapshot
        self._cache_read = False
        self._last_error: PlugvisorError | None = None  # the last failure with no copy at all
        self._fresh_until = 0.0  # monotonic: a plain load reads nothing before this
        self._retry_at = 0.0  # monotonic: after a failure, nothing is read before this
        self._lock = asyncio.Lock()

    @property
    def snapshot(self) -> RegistrySnapshot | None:
        """The copy in memory, without reading anything."""
        return self._snapshot

    @property
    def problem(self) -> str | None:
        """Why the last read failed (a stale copy or none at all); None after a good read."""
        snapshot = self._snapshot
        if snapshot is None:
            return (
                None if self._last_error is None else registry_unavailable(self._last_error).message
            )
        if not snapshot.stale:
            return None
        return snapshot.error or "The registry could not be read"

    async def load(self, *, force: bool = False, revalidate: bool = False) -> RegistrySnapshot:
        """The registry: fresh, cached or stale; ``REGISTRY_UNAVAILABLE`` without any copy.

        A plain load reads the source at most every ``ttl_s``; ``revalidate`` asks it now
        whether it changed (cheap: a conditional GET or a file's signature) unless it failed
        less than ``retry_after_failure_s`` ago; ``force`` asks it now in any case.
        """
        async with self._lock:
            if not force:
                wait = self._retry_at if revalidate else max(self._retry_at, self._fresh_until)
                if time.monotonic() < wait:
                    if self._snapshot is not None:
                        return self._snapshot
                    if self._last_error is not None:  # failed a moment ago: not again so soon
                        raise registry_unavailable(self._last_error)
            await self._read_cache_once()
            try:
                data, version = await self._source.read(self._version)
                plugins = None
                if data is not None:
                    document = await run_blocking(_decode, data)
                    plugins = await run_blocking(self._parse, document)
            except PlugvisorError as exc:
                return self._serve_stale(exc)
            previous, self._version = self._version, version
            self._last_error = None
            self._fresh_until, self._retry_at = time.monotonic() + self.ttl_s, 0.0
            if plugins is None:  # unchanged: the copy in memory is the registry's
                assert self._snapshot is not None and previous is not None
                self._snapshot = RegistrySnapshot(self._snapshot.plugins, now_iso())
                if previous.validators != version.validators:  # kept for the next start
                    await self._save_cache(self._snapshot, version)
                return self._snapshot
            self._snapshot = RegistrySnapshot(plugins, now_iso())
            await self._save_cache(self._snapshot, version)
            return self._snapshot

    async def resolve(self, plugin_id: str) -> RegistryEntry:
        """The entry the registry has now for ``plugin_id`` (exact id, then plugin_path).

        Revalidates the copy first (see :meth:`load`); an unreachable registry answers from
        its last copy. ``PLUGIN_NOT_FOUND``, ``REGISTRY_UNAVAILABLE`` or ``INVALID_INPUT``.
        """
        plugin_id = validate_plugin_id(plugin_id)
        snapshot = await self.load(revalidate=True)
        entry = snapshot.find(plugin_id)
        if entry is None:
            raise not_in_registry(plugin_id, snapshot)
        return entry

    def _parse(self, document: dict[str, Any]) -> tuple[RegistryEntry, ...]:
        local_file = self._source.local_file
        base = None if local_file is None else local_file.resolve().parent
        entries = []
        for raw in document["plugins"]:
            if not isinstance(raw, dict) or not _text(raw.get("id")) or not _text(raw.get("repo")):
                continue
            repo = raw["repo"].strip()
            if base is not None and "://" not in repo:
                repo = local_repo_url(repo, base)
            versions = tuple(v for v in raw.get("versions") or [] if isinstance(v, dict))
            entries.append(
                RegistryEntry(
                    id=raw["id"].strip(),
                    name=_text(raw.get("name")) or raw["id"].strip(),
                    repo=repo,
                    branch=_text(raw.get("branch")),
                    plugin_path=(_text(raw.get("plugin_path")) or "").strip("/") or None,
                    latest_version=_text(raw.get("latest_version")),
                    versions=versions,
                    raw=raw,
                    local_repos_allowed=base is not None,
                )
            )
        return tuple(entries)

    def _serve_stale(self, error: PlugvisorError) -> RegistrySnapshot:
        log.warning("registry_unreachable", source=redact_url(self.source), error=error.message)
        self._fresh_until = self._retry_at = time.monotonic() + self.retry_after_failure_s
        if self._snapshot is None:
            self._last_error = error
            raise registry_unavailable(error)
        self._snapshot = replace(self._snapshot, stale=True, error=error.message)
        return self._snapshot

    async def _read_cache_once(self) -> None:
        """At the first load, the copy on disk (from an earlier run) becomes the copy in
        memory, so that an unchanged registry is not downloaded again; the temp files a
        crash left in cache/ go."""
        if self._cache_read or self._snapshot is not None:
            return
        self._cache_read = True
        await run_blocking(remove_stale_temps, self.cache_file.parent)
        cached = await run_blocking(self._load_cache)
        if cached is None:
            return
        document, fetched_at, version = cached
        try:
            plugins = await run_blocking(self._parse, document)
        except (PlugvisorError, KeyError, TypeError, AttributeError):
            return
        self._snapshot = RegistrySnapshot(plugins, fetched_at)
        self._version = version

    async def _save_cache(self, snapshot: RegistrySnapshot, version: DocumentVersion) -> None:
        validators = version.validators or Validators()
        record = {
            "source": redact_url(self.source),
            "fetched_at": snapshot.fetched_at,
            "digest": version.digest,
            "etag": validators.etag,
            "last_modified": validators.last_modified,
            "document": {"plugins": [entry.raw for entry in snapshot.plugins]},
        }
        try:
            await run_blocking(self._write_cache, dumps(record))
        except OSError as exc:  # a cache that cannot be written costs nothing but a warm start
            log.warning("registry_cache_not_written", error=str(exc.strerror))

    def _write_cache(self, data: bytes) -> None:
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        why = unusable_file(self.cache_file)
        if why is not None:  # a folder in its place would refuse every write: set it aside
            self._damage.set_aside(self.cache_file, why=why, lost=LOST_WITH_CACHE)
        atomic_write(self.cache_file, data, syncer=self._syncer)

    def _load_cache(self) -> tuple[dict[str, Any], str, DocumentVersion | None] | None:
        why = unusable_file(self.cache_file)
        try:
            if why is None:
                record = orjson.loads(self.cache_file.read_bytes())
                document = record["document"]
                if isinstance(document.get("plugins"), list):
                    return document, str(record.get("fetched_at", "")), self._version_of(record)
                why = "has no 'plugins' list"
        except FileNotFoundError:
            return None
        except OSError as exc:
            why = f"cannot be read ({exc.strerror})"
        except orjson.JSONDecodeError:
            why = "is not valid JSON"
        except (KeyError, TypeError, AttributeError):
            why = "is not a registry copy"
        self._damage.set_aside(self.cache_file, why=why, lost=LOST_WITH_CACHE)
        return None

    def _version_of(self, record: dict[str, Any]) -> DocumentVersion | None:
        digest, etag, modified = (record.get(k) for k in ("digest", "etag", "last_modified"))
        if not isinstance(digest, str) or not digest:
            return None
        validators = Validators(
            etag if isinstance(etag, str) else None,
            modified if isinstance(modified, str) else None,
        )
        return DocumentVersion(digest, validators=validators if self.is_remote else None)
