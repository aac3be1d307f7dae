"""What the installer hands back: where a plugin came from, install results, recovery reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from actors.installer.redact import redact_url

SourceType = Literal["registry", "git", "archive"]
RECORD_FILE = ".plugvisor.json"  # the install record inside each plugins/<id>/


@dataclass(frozen=True, slots=True)
class PluginSource:
    """Where an installed copy came from; enough to fetch its next version.

    ``url`` may hold credentials: use :meth:`public` for anything shown or logged.
    """

    type: SourceType
    url: str | None = None
    branch: str | None = None
    commit: str | None = None
    plugin_path: str | None = None
    registry_id: str | None = None
    requested_branch: str | None = None  # the branch the user asked for, if any
    archive_sha256: str | None = None
    archive_name: str | None = None

    def public(self) -> dict[str, Any]:
        """The contract's ``source`` object, with credentials masked."""
        data = asdict(self)
        if self.url:
            data["url"] = redact_url(self.url)
        return data

    def redacted(self) -> PluginSource:
        return replace(self, url=redact_url(self.url) if self.url else None)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PluginSource:
        names = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in names and (v is None or isinstance(v, str))}
        if values.get("type") not in ("registry", "git", "archive"):
            raise ValueError("unknown source type")
        return cls(**values)


@dataclass(frozen=True, slots=True)
class InstallResult:
    plugin_id: str  # the manifest id, which names plugins/<plugin_id>
    version: str
    name: str
    source: PluginSource
    manifest: dict[str, Any] = field(repr=False)
    requested_id: str | None = None  # the id the caller asked for, when it differs
    previous_version: str | None = None  # the copy this one replaced, if any
    updated: bool = True  # False: an update found nothing newer and changed nothing
    dependencies_installed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The operation's ``result`` object (JSON-ready, credentials masked)."""
        return {
            "plugin_id": self.plugin_id,
            "requested_id": self.requested_id,
            "version": self.version,
            "name": self.name,
            "previous_version": self.previous_version,
            "updated": self.updated,
            "dependencies_installed": self.dependencies_installed,
            "source": self.source.public(),
        }


@dataclass(frozen=True, slots=True)
class InstalledRecord:
    """The installer's note inside each installed plugin folder (``.plugvisor.json``)."""

    plugin_id: str
    version: str
    installed_at: str
    last_updated: str
    source: PluginSource
    # The operation that landed this copy: after a crash, proof that its files had landed.
    operation_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "plugin_id": self.plugin_id,
            "version": self.version,
            "installed_at": self.installed_at,
            "last_updated": self.last_updated,
            "source": asdict(self.source),
            "operation_id": self.operation_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InstalledRecord:
        return cls(
            plugin_id=str(data["plugin_id"]),
            version=str(data["version"]),
            installed_at=str(data["installed_at"]),
            last_updated=str(data["last_updated"]),
            source=PluginSource.from_dict(data["source"]),
            operation_id=data["operation_id"]
            if isinstance(data.get("operation_id"), str)
            else None,
        )


@dataclass(frozen=True, slots=True)
class RecoveryAction:
    operation: str  # "install" (a landing, also updates) or "uninstall"
    plugin_id: str
    outcome: Literal["rolled_back", "completed"]
    detail: str


@dataclass(slots=True)
class RecoveryReport:
    """What ``recover()`` found after a crash: interrupted operations and removed debris."""

    actions: list[RecoveryAction] = field(default_factory=list)
    debris_removed: list[str] = field(default_factory=list)  # names under tmp/ that were removed

    @property
    def clean(self) -> bool:
        return not self.actions and not self.debris_removed

    def to_dict(self) -> dict[str, Any]:
        return {
            "actions": [asdict(action) for action in self.actions],
            "debris_removed": list(self.debris_removed),
        }
