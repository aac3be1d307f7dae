"""Detection, pure: the facts one run gathered in, every inconsistency (and its planned fix) out.

Each type is defined in docs/RECONCILIATION.md; nothing here reads a file or asks an actor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

AUTO_FIX = "auto_fix"
MANUAL = "manual_fix_required"
NONE = "none"

# The plan behind an auto_fix (the contract shows only fix_action).
ENSURE_ENTRY = "ensure_entry"  # EnsurePluginEntry(enabled=False) through the config store
REINSTALL = "reinstall"  # Enqueue install from the registry, within the attempt budget
FOLLOW_CONFIG = "follow_config"  # deliver the config's flag to the state again

STATE_LOSS_CODES = ("state_file_corrupt", "state_file_lost")


@dataclass(frozen=True, slots=True)
class DiskFacts:
    """One folder of plugins/ as the scan saw it."""

    manifest_version: str | None  # None when the manifest is unusable
    record_version: str | None  # None for a copy without an install record


@dataclass(frozen=True, slots=True)
class Facts:
    config: Mapping[str, bool]  # every plugin section's effective enabled
    config_stable: bool  # the config generation did not move while the states were read
    states: Mapping[str, Mapping[str, Any]]
    state_reasons: Sequence[tuple[str, str]]  # (code, message) of the state's health reasons
    disk: Mapping[str, DiskFacts]
    tombstoned: frozenset[str] | None  # None: the tombstone list cannot be read
    active: Mapping[str, str]  # plugin_id -> operation_id pending or running
    busy: bool  # some operation (of any lane) was pending or running while tmp/ was listed
    staging: Sequence[str]  # entry names in tmp/
    interrupted: Sequence[Mapping[str, Any]]  # interrupted operations not reported before
    registry: Mapping[str, str]  # plugin_id -> "found" | "not_found" | "unavailable"
    attempts: Mapping[str, int]  # reinstalls already queued per plugin
    max_attempts: int


@dataclass(frozen=True, slots=True)
class Finding:
    plugin_id: str | None
    type: str
    description: str
    fix_action: str
    fix: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "plugin_id": self.plugin_id,
            "type": self.type,
            "description": self.description,
            "fix_action": self.fix_action,
        }


def detect(facts: Facts) -> list[Finding]:
    """Every inconsistency the facts show, in a stable order."""
    found: list[Finding] = []
    found += _missing_in_config(facts)
    found += _missing_on_disk_or_orphaned(facts)
    found += _enabled_mismatch(facts)
    found += _version_mismatch(facts)
    found += _manifest_invalid(facts)
    found += _state_corrupted(facts)
    found += _leftover_staging(facts)
    found += _interrupted(facts)
    return found


def _missing_in_config(facts: Facts) -> list[Finding]:
    return [
        Finding(
            pid,
            "plugin_missing_in_config",
            f"Plugin '{pid}' is installed in plugins/ but has no section in the configuration; "
            "a section is added with the plugin disabled (enable it once you trust it)",
            AUTO_FIX,
            ENSURE_ENTRY,
        )
        for pid in sorted(facts.disk)
        if pid not in facts.config and pid not in facts.active
    ]


def _missing_on_disk_or_orphaned(facts: Facts) -> list[Finding]:
    found = []
    for pid in sorted(facts.config):
        if pid in facts.disk or pid in facts.active:
            continue
        if facts.tombstoned is not None and pid in facts.tombstoned:
            found.append(
                Finding(
                    pid,
                    "orphaned_config",
                    f"Plugin '{pid}' was uninstalled but its configuration section was kept; "
                    "installing it again uses these settings. Nothing is done automatically "
                    "(the section may have been kept on purpose with preserve_config)",
                    NONE,
                )
            )
        else:
            found.append(_missing_on_disk(pid, facts))
    return found


def _missing_on_disk(pid: str, facts: Facts) -> Finding:
    kind = "plugin_missing_on_disk"
    head = f"Plugin '{pid}' is configured but its folder in plugins/ is missing"
    if facts.tombstoned is None:
        return Finding(
            pid,
            kind,
            f"{head}, and the list of uninstalled plugins cannot be read, so it is not "
            "reinstalled automatically: install it again, or remove its configuration section",
            MANUAL,
        )
    attempts = facts.attempts.get(pid, 0)
    if attempts >= facts.max_attempts:
        return Finding(
            pid,
            kind,
            f"{head}; {attempts} reinstall(s) from the registry did not bring it back: see the "
            "operation history for why, then install it by hand, or reconcile with force: true "
            "to try again",
            MANUAL,
            detail={"attempts": attempts},
        )
    registry = facts.registry.get(pid, "unavailable")
    if registry == "not_found":
        return Finding(
            pid,
            kind,
            f"{head}, and the registry does not offer it: install it again from its URL or "
            "an archive, or remove its configuration section",
            MANUAL,
        )
    if registry != "found":
        return Finding(
            pid,
            kind,
            f"{head}, and the registry cannot be read now: it is reinstalled by a later run "
            "once the registry is reachable, or install it again by hand",
            MANUAL,
        )
    return Finding(
        pid,
        kind,
        f"{head}; it is reinstalled from the registry through the queue "
        f"(attempt {attempts + 1} of {facts.max_attempts})",
        AUTO_FIX,
        REINSTALL,
        detail={"attempts": attempts},
    )


def _enabled_mismatch(facts: Facts) -> list[Finding]:
    if not facts.config_stable:
        return []  # a save landed while we looked: the next run compares again
    found = []
    for pid, state in sorted(facts.states.items()):
        if pid not in facts.config or pid in facts.active:
            continue
        wanted = facts.config[pid]
        if bool(state.get("enabled")) != wanted:
            found.append(
                Finding(
                    pid,
                    "plugin_enabled_mismatch",
                    f"Plugin '{pid}' is {'enabled' if wanted else 'disabled'} in the "
                    "configuration but the state shows otherwise; the state is given the "
                    "configuration's value again (the configuration decides)",
                    AUTO_FIX,
                    FOLLOW_CONFIG,
                    detail={"enabled": wanted},
                )
            )
    return found


def _version_mismatch(facts: Facts) -> list[Finding]:
    found = []
    for pid, disk in sorted(facts.disk.items()):
        if disk.manifest_version is None or disk.record_version is None:
            continue
        if disk.manifest_version != disk.record_version:
            found.append(
                Finding(
                    pid,
                    "plugin_version_mismatch",
                    f"Plugin '{pid}': manifest.json says version {disk.manifest_version} but it "
                    f"was installed as {disk.record_version}; its files were changed by hand. "
                    "Update or reinstall the plugin to get a known copy",
                    MANUAL,
                )
            )
    return found


def _manifest_invalid(facts: Facts) -> list[Finding]:
    found = []
    for pid, state in sorted(facts.states.items()):
        if state.get("status") != "error":
            continue
        error = ((state.get("metadata") or {}).get("manifest_error") or {}).get("message")
        found.append(
            Finding(
                pid,
                "manifest_invalid",
                f"Plugin '{pid}' has an unusable manifest.json ({error or 'unreadable'}); "
                "reinstall the plugin or correct plugins/" + pid + "/manifest.json",
                MANUAL,
            )
        )
    return found


def _state_corrupted(facts: Facts) -> list[Finding]:
    return [
        Finding(
            None,
            "plugin_state_corrupted",
            f"{message}. Enabled flags and versions were rebuilt from the configuration and "
            "plugins/; only each plugin's last operation and last error were lost",
            NONE,
        )
        for code, message in facts.state_reasons
        if code in STATE_LOSS_CODES
    ]


def _leftover_staging(facts: Facts) -> list[Finding]:
    if facts.busy:
        return []  # staging belongs to the operation under way
    return [
        Finding(
            None,
            "leftover_staging",
            f"tmp/{name} is left from an operation that is no longer running; restarting "
            "Plugvisor removes it (start-up recovery), or delete it while no operation runs",
            MANUAL,
        )
        for name in sorted(facts.staging)
    ]


def _interrupted(facts: Facts) -> list[Finding]:
    return [
        Finding(
            op.get("plugin_id"),
            "interrupted_operation",
            f"The {op.get('operation_type')} operation {op.get('operation_id')} "
            f"was interrupted by a restart ({op.get('message')}); nothing of it remains, "
            "so run it again if it is still wanted",
            NONE,
            detail={"operation_id": op.get("operation_id")},
        )
        for op in facts.interrupted
    ]
