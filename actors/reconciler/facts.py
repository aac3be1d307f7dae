"""Gathering one run's facts: the actors are asked, plugins/ and tmp/ are only read."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actors.catalog.messages import ResolveRegistryEntry
from actors.config_store.messages import GetPluginFlags, PluginFlags
from actors.errors import ErrorCode, PlugvisorError
from actors.health_reasons import GetHealthReasons, HealthReason
from actors.installer.tombstones import uninstalled_ids
from actors.queue.messages import ListFinished, ListOperations
from actors.reconciler.checks import DiskFacts, Facts
from actors.state.disk import scan_plugins
from actors.state.messages import GetAllStates, RescanPlugins
from actors.timeouts import AskTimeouts
from supervision import ActorRef, SupervisionError

_FLAG_READS = 3  # reads of the config's flags around the states before giving up on comparing


@dataclass(frozen=True, slots=True)
class Sources:
    """Who a run asks, and the folders it reads (never writes)."""

    config_store: ActorRef
    state: ActorRef
    queue: ActorRef
    catalog: ActorRef
    plugins_dir: Path  # read only: the folders, manifests, install records, tombstones
    tmp_dir: Path  # read only: what staging is left
    timeouts: AskTimeouts


@dataclass(frozen=True, slots=True)
class Gathered:
    facts: Facts
    generation: int  # the config generation the flags were read at
    interrupted_ids: tuple[str, ...]  # every interrupted operation the queue still retains


async def gather(
    src: Sources, attempts: dict[str, int], reported: Collection[str], max_attempts: int
) -> Gathered:
    read = src.timeouts.read
    # The view follows events, not hand edits: have it read plugins/ again (no file is written).
    await src.state.ask(RescanPlugins(), timeout=src.timeouts.write)
    flags, states, stable = await _flags_and_states(src)
    reasons: list[HealthReason] = await src.state.ask(GetHealthReasons(), timeout=read)
    before: list[dict[str, Any]] = await src.queue.ask(ListOperations(), timeout=read)
    staging = await asyncio.to_thread(_staging, src.tmp_dir)
    after: list[dict[str, Any]] = await src.queue.ask(ListOperations(), timeout=read)
    active = {op["plugin_id"]: op["operation_id"] for op in [*after, *before] if op["plugin_id"]}
    disk = await asyncio.to_thread(_disk, src.plugins_dir)
    tombstoned = await asyncio.to_thread(uninstalled_ids, src.plugins_dir)
    interrupted = await src.queue.ask(ListFinished("interrupted"), timeout=read)
    missing = [
        pid
        for pid in sorted(flags.enabled)
        if pid not in disk
        and pid not in active
        and tombstoned is not None
        and pid not in tombstoned
        and attempts.get(pid, 0) < max_attempts
    ]
    facts = Facts(
        config=dict(flags.enabled),
        config_stable=stable,
        states=states,
        state_reasons=[(r.code, r.message) for r in reasons],
        disk=disk,
        tombstoned=tombstoned,
        active=active,
        busy=bool(before or after),
        staging=staging,
        interrupted=[op for op in interrupted if op["operation_id"] not in reported],
        registry={pid: await _registry(src, pid) for pid in missing},
        attempts=attempts,
        max_attempts=max_attempts,
    )
    return Gathered(facts, flags.generation, tuple(op["operation_id"] for op in interrupted))


async def _flags_and_states(
    src: Sources,
) -> tuple[PluginFlags, dict[str, dict[str, Any]], bool]:
    """The flags and the states, read so that no config save landed in between (else unstable)."""
    read = src.timeouts.read
    flags: PluginFlags = await src.config_store.ask(GetPluginFlags(), timeout=read)
    for _ in range(_FLAG_READS):
        states = await src.state.ask(GetAllStates(), timeout=read)
        again: PluginFlags = await src.config_store.ask(GetPluginFlags(), timeout=read)
        if again.generation == flags.generation:
            return again, states, True
        flags = again
    return flags, states, False


async def _registry(src: Sources, plugin_id: str) -> str:
    try:
        await src.catalog.ask(ResolveRegistryEntry(plugin_id), timeout=src.timeouts.network)
    except PlugvisorError as exc:
        return "not_found" if exc.code is ErrorCode.PLUGIN_NOT_FOUND else "unavailable"
    except (SupervisionError, TimeoutError):
        return "unavailable"
    return "found"


def _disk(plugins_dir: Path) -> dict[str, DiskFacts]:
    scan = scan_plugins(plugins_dir)
    return {
        pid: DiskFacts(
            manifest_version=_version(plugin.manifest),
            record_version=plugin.record.version if plugin.record else None,
        )
        for pid, plugin in scan.plugins.items()
    }


def _version(manifest: dict[str, Any] | None) -> str | None:
    version = (manifest or {}).get("version")
    return None if version is None else str(version)


def _staging(tmp_dir: Path) -> list[str]:
    try:
        with os.scandir(tmp_dir) as entries:
            return sorted(entry.name for entry in entries)
    except FileNotFoundError:
        return []
