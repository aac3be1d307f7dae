"""``health/breakers.json``: every plugin's breaker, written only when a circuit changes.

What survives a restart: each breaker as it was at its last write. A write happens on a
transition (closed->open, the half-open probe's outcome, a reset), when a plugin is first
reported, and once at a clean stop; a success while closed never writes (SD wear).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import orjson
import structlog

from actors.fsio import Syncer, atomic_write, dumps, remove_stale_temps
from actors.health.breaker import Breaker
from actors.plugin_ids import is_valid_plugin_id

log = structlog.get_logger(__name__, actor="health")

FILE_NAME = "breakers.json"
FORMAT_VERSION = 1


class BreakerFile:
    def __init__(self, folder: Path, syncer: Syncer | None = None) -> None:
        self.folder = folder
        self.path = folder / FILE_NAME
        self.syncer = syncer or Syncer()
        self.writes = 0  # how many times the file was replaced (tests count SD writes)

    def load(self) -> tuple[dict[str, Breaker], str | None]:
        """The stored breakers, and a problem when the file was damaged (it is then kept aside
        as ``breakers.json.damaged-<time>`` and every breaker starts afresh)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(self.folder)
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}, None
        except OSError as exc:
            return {}, f"unreadable file ({exc.strerror})"
        try:
            data = orjson.loads(raw)
            if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
                raise ValueError("unknown format")
            plugins = data.get("plugins")
            if not isinstance(plugins, dict):
                raise ValueError("no plugins object")
            breakers = {
                pid: Breaker.from_record(record)
                for pid, record in plugins.items()
                if is_valid_plugin_id(pid)
            }
        except (orjson.JSONDecodeError, ValueError, TypeError) as exc:
            aside = self.path.with_name(f"{FILE_NAME}.damaged-{int(time.time())}")
            with contextlib.suppress(OSError):
                self.path.replace(aside)
            log.warning("health_file_damaged", error=str(exc), kept_as=aside.name)
            return {}, f"{exc}; kept as {aside.name}"
        return breakers, None

    def save(self, breakers: dict[str, Breaker]) -> None:
        body = {
            "version": FORMAT_VERSION,
            "plugins": {pid: breakers[pid].to_record() for pid in sorted(breakers)},
        }
        atomic_write(self.path, dumps(body), syncer=self.syncer)
        self.writes += 1
