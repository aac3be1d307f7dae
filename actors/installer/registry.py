"""The plugin registry (plugins.json) from a URL or file, cached in memory and on disk."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
import structlog

from actors.damage import Damage, unusable_file
from actors.errors import ErrorCode, PlugvisorError
from actors.fsio import Syncer, atomic_write, dumps
from actors.installer.blocking import run_blocking
from actors.installer.download import fetch_bytes
from actors.installer.redact import redact_url
from actors.installer.urls import local_repo_url
from actors.timeutil import now_iso

log = structlog.get_logger(__name__)

MAX_REGISTRY_BYTES = 16 * 1024 * 1024
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


class Registry:
    """Reads the registry at most every ``ttl_s``; on failure serves the last copy, flagged stale.

    ``source`` is an http(s) URL, a ``file://`` URL or a local path. Only a local registry may
    name local repositories (paths, relative to the registry file, or file:// URLs).
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
        scheme = urlsplit(source).scheme.lower()
        self.is_remote = scheme in ("http", "https")
        self._local_file = (
            None
            if self.is_remote
            else Path(unquote(urlsplit(source).path) if scheme == "file" else source)
        )
        digest = hashlib.sha256(source.encode()).hexdigest()[:16]
        self.cache_file = cache_dir / f"registry-{digest}.json"
        self.ttl_s = ttl_s
        self.retry_after_failure_s = retry_after_failure_s
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.backoff_s = backoff_s
        self._syncer = syncer
        self._damage = damage or Damage(cache_dir.parent)
        self._snapshot: RegistrySnapshot | None = None
        self._last_error: PlugvisorError | None = None  # the last failure with no copy at all
        self._next_fetch = 0.0
        self._lock = asyncio.Lock()

    @property
    def snapshot(self) -> RegistrySnapshot | None:
        """The copy in memory, without reading anything."""
        return self._snapshot

    async def load(self, *, force: bool = False) -> RegistrySnapshot:
        """The registry, fresh, cached or stale; ``NETWORK_ERROR``/``TIMEOUT`` if no copy at all."""
        async with self._lock:
            if not force and time.monotonic() < self._next_fetch:
                if self._snapshot is not None:
                    return self._snapshot
                if self._last_error is not None:  # failed a moment ago: not again so soon
                    raise PlugvisorError(self._last_error.code, self._last_error.message)
            try:
                document = await self._read_source()
                plugins = await run_blocking(self._parse, document)
            except PlugvisorError as exc:
                return await self._serve_stale(exc)
            self._snapshot = RegistrySnapshot(plugins, now_iso())
            self._last_error = None
            self._next_fetch = time.monotonic() + self.ttl_s
            await self._save_cache(document)
            return self._snapshot

    async def find(self, plugin_id: str, *, force: bool = False) -> RegistryEntry | None:
        return (await self.load(force=force)).find(plugin_id)

    async def _read_source(self) -> Any:
        if self.is_remote:
            data = await fetch_bytes(
                self.source,
                timeout_s=self.timeout_s,
                max_bytes=MAX_REGISTRY_BYTES,
                attempts=self.attempts,
                backoff_s=self.backoff_s,
            )
        else:
            data = await run_blocking(self._read_local)
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise PlugvisorError(
                ErrorCode.NETWORK_ERROR, f"The plugin registry is not valid JSON: {exc}"
            ) from None
        if not isinstance(document, dict) or not isinstance(document.get("plugins"), list):
            raise PlugvisorError(
                ErrorCode.NETWORK_ERROR, "The plugin registry has no 'plugins' list"
            )
        return document

    def _read_local(self) -> bytes:
        assert self._local_file is not None
        try:
            if self._local_file.stat().st_size > MAX_REGISTRY_BYTES:
                raise PlugvisorError(
                    ErrorCode.NETWORK_ERROR, "The plugin registry file is too large"
                )
            return self._local_file.read_bytes()
        except OSError:
            raise PlugvisorError(
                ErrorCode.NETWORK_ERROR, "The plugin registry file cannot be read"
            ) from None

    def _parse(self, document: dict[str, Any]) -> tuple[RegistryEntry, ...]:
        base = None if self._local_file is None else self._local_file.resolve().parent
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
                )
            )
        return tuple(entries)

    async def _serve_stale(self, error: PlugvisorError) -> RegistrySnapshot:
        log.warning("registry_unreachable", source=redact_url(self.source), error=error.message)
        self._next_fetch = time.monotonic() + self.retry_after_failure_s
        snapshot = self._snapshot
        if snapshot is None:
            cached = await run_blocking(self._load_cache)
            if cached is not None:
                document, fetched_at = cached
                try:
                    snapshot = RegistrySnapshot(
                        await run_blocking(self._parse, document), fetched_at
                    )
                except (PlugvisorError, KeyError, TypeError):
                    snapshot = None
        if snapshot is None:
            self._last_error = PlugvisorError(
                error.code,
                f"The plugin registry is unreachable and no copy is cached: {error.message}",
            )
            raise self._last_error
        self._snapshot = RegistrySnapshot(
            snapshot.plugins, snapshot.fetched_at, True, error.message
        )
        return self._snapshot

    async def _save_cache(self, document: dict[str, Any]) -> None:
        record = {"source": redact_url(self.source), "fetched_at": now_iso(), "document": document}
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

    def _load_cache(self) -> tuple[dict[str, Any], str] | None:
        why = unusable_file(self.cache_file)
        try:
            if why is None:
                record = orjson.loads(self.cache_file.read_bytes())
                document = record["document"]
                if isinstance(document.get("plugins"), list):
                    return document, str(record.get("fetched_at", ""))
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
