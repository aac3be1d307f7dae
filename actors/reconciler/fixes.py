"""Applying the safe fixes a run planned; a fix that fails becomes a manual one, saying why."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

import structlog

from actors.config_store.messages import EnsurePluginEntry
from actors.errors import ErrorCode, PlugvisorError
from actors.queue.messages import Enqueue
from actors.reconciler.checks import (
    AUTO_FIX,
    ENSURE_ENTRY,
    FOLLOW_CONFIG,
    MANUAL,
    REINSTALL,
    Finding,
)
from actors.state.messages import FollowConfig, GetState
from actors.timeouts import AskTimeouts
from supervision import ActorRef, SupervisionError

log = structlog.get_logger(__name__, actor="reconciler")


@dataclass(frozen=True, slots=True)
class FixRefs:
    config_store: ActorRef
    state: ActorRef
    queue: ActorRef
    timeouts: AskTimeouts


@dataclass(frozen=True, slots=True)
class Outcome:
    finding: Finding  # as it ends: its fix_action is manual when the fix failed
    fixed: bool


# Counts one reinstall attempt of a plugin durably, before it is queued.
CountAttempt = Callable[[str], Awaitable[None]]


async def apply_fixes(
    findings: list[Finding],
    refs: FixRefs,
    *,
    generation: int,
    count_attempt: CountAttempt,
    user: str,
) -> list[Outcome]:
    outcomes = []
    for finding in findings:
        if finding.fix_action != AUTO_FIX:
            outcomes.append(Outcome(finding, fixed=False))
            continue
        try:
            note = await _fix(finding, refs, generation, count_attempt, user)
        except (PlugvisorError, SupervisionError, TimeoutError) as exc:
            why = exc.message if isinstance(exc, PlugvisorError) else "no answer in time"
            log.warning("reconcile_fix_failed", plugin_id=finding.plugin_id, type=finding.type)
            failed = replace(
                finding,
                description=f"{finding.description}. The automatic fix failed ({why}); "
                "reconcile again, or fix it by hand",
                fix_action=MANUAL,
            )
            outcomes.append(Outcome(failed, fixed=False))
            continue
        described = replace(finding, description=f"{finding.description}{note}")
        outcomes.append(Outcome(described, fixed=True))
    return outcomes


async def _fix(
    finding: Finding, refs: FixRefs, generation: int, count_attempt: CountAttempt, user: str
) -> str:
    """Apply one fix; answers a note to append to its description."""
    pid = finding.plugin_id
    assert pid is not None  # every auto-fixable type names its plugin
    if finding.fix == ENSURE_ENTRY:
        await refs.config_store.ask(
            EnsurePluginEntry(pid, enabled=False, user=user), timeout=refs.timeouts.write
        )
        return ""
    if finding.fix == FOLLOW_CONFIG:
        flag = bool(finding.detail["enabled"])
        await refs.state.ask(FollowConfig(generation, pid, {pid: flag}), timeout=refs.timeouts.read)
        view = await refs.state.ask(GetState(pid), timeout=refs.timeouts.read)
        if view is not None and view.get("enabled") is not flag:  # it holds a newer value
            raise PlugvisorError(
                ErrorCode.SYSTEM_ERROR,
                "the state kept its own value; restarting Plugvisor rebuilds it from the config",
            )
        return ""
    if finding.fix == REINSTALL:
        await count_attempt(pid)
        receipt = await refs.queue.ask(
            Enqueue("install", pid, {}, user=user), timeout=refs.timeouts.write
        )
        return f" (queued as operation {receipt['operation_id']})"
    raise AssertionError(f"unknown fix {finding.fix!r}")
