"""The supervision tree, built in one place: every actor gets the refs it talks to, explicitly."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from actors.catalog.actor import Catalog
from actors.config_store import make_config_store
from actors.damage import Damage
from actors.events import EventBus
from actors.fsio import Syncer
from actors.history.actor import HistoryActor
from actors.history.messages import NoteOperation
from actors.history.store import HistoryLimits
from actors.installer import Installer, PipOptions, Registry
from actors.paths import DataPaths
from actors.queue.actor import OperationQueue, QueueSettings
from actors.queue.journal import Journal
from actors.queue.plugin_executor import PluginExecutor
from actors.queue.records import Operation
from actors.state.actor import StateActor
from actors.timeutil import now_iso
from supervision import ActorRef, ActorStopped, ChildSpec, MailboxFull, Supervisor

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "config" / "default_config.json"
DEFAULT_REGISTRY_URL = (
    "https://raw.githubusercontent.com/ChuckBuilds/ledmatrix-plugins/main/plugins.json"
)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the command line and environment can set, with the defaults a device runs on."""

    host: str = "127.0.0.1"
    port: int = 5050
    data_dir: Path = Path("./data")
    registry_url: str = DEFAULT_REGISTRY_URL
    log_format: str = "console"
    ask_timeout_s: float = 10.0
    shutdown_timeout_s: float = 10.0
    queue_concurrency: int = 1
    operation_deadline_s: float = 600.0
    operation_retention: int = 1000
    backups_keep: int = 5
    history_max_file_bytes: int = 4 * 1024 * 1024
    history_max_total_bytes: int = 64 * 1024 * 1024
    pip: PipOptions = field(default_factory=PipOptions)
    fsync_delay_s: float = 0.0  # benchmarks only: imitate an SD card's fsync latency


@dataclass(slots=True)
class System:
    """What the web front end may use: refs to actors, the event bus, the tree for health."""

    settings: Settings
    paths: DataPaths
    bus: EventBus
    tree: Supervisor
    refs: dict[str, ActorRef] = field(default_factory=dict)
    # Actors answering actors.health_reasons.GetHealthReasons.
    reason_sources: list[ActorRef] = field(default_factory=list)
    started_at: str = field(default_factory=now_iso)
    # Damaged files set aside since start (health reasons the web front end shows as well).
    damage: Damage = field(default_factory=Damage)

    def ref(self, name: str) -> ActorRef:
        return self.refs[name]


def build_system(settings: Settings) -> System:
    """Lay out the data directory and build (not start) the supervision tree.

    Start order matters: history first (it records the config events of everyone after
    it), then the config store and the state the queue's work updates, the catalog, and
    the queue last, so that it only runs operations once everything it needs is up.
    """
    paths = DataPaths(settings.data_dir.resolve())
    damage = Damage(paths.root)
    paths.ensure(damage)
    bus = EventBus()
    syncer = Syncer(settings.fsync_delay_s)
    registry = Registry(
        settings.registry_url, paths.cache_dir, timeout_s=5.0, attempts=2, damage=damage
    )
    installer = Installer(paths, registry, pip=settings.pip, syncer=syncer, damage=damage)
    refs: dict[str, ActorRef] = {}
    # One journal (and its one I/O thread) for every incarnation of the queue, so a dying
    # incarnation's last write can never land after the next one's first.
    journal = Journal(paths.journal_dir, syncer=syncer, damage=damage)

    def record_history(op: Operation) -> None:
        # Under overload the journal still holds the operation; the history is best effort.
        with contextlib.suppress(MailboxFull, ActorStopped):
            refs["history"].tell_nowait(NoteOperation.from_operation(op.to_journal()))

    def history() -> HistoryActor:
        limits = HistoryLimits(
            max_file_bytes=settings.history_max_file_bytes,
            max_total_bytes=settings.history_max_total_bytes,
        )
        return HistoryActor(paths.history_dir, bus, limits=limits, syncer=syncer, damage=damage)

    def queue() -> OperationQueue:
        executor = PluginExecutor(
            installer,
            refs["config_store"],
            refs["state"],
            ask_timeout_s=max(settings.ask_timeout_s, 30.0),
        )
        return OperationQueue(
            journal,
            executor,
            bus,
            settings=QueueSettings(
                concurrency=settings.queue_concurrency,
                deadline_s=settings.operation_deadline_s,
                retention=settings.operation_retention,
            ),
            record_history=record_history,
        )

    children = [
        ChildSpec("history", history),
        ChildSpec(
            "config_store",
            make_config_store(
                paths,
                bus,
                syncer=syncer,
                defaults_path=DEFAULT_CONFIG,
                backups_keep=settings.backups_keep,
            ),
        ),
        ChildSpec("state", lambda: StateActor(paths, bus, syncer=syncer)),
        ChildSpec("catalog", lambda: Catalog(installer, registry, refs["state"])),
        ChildSpec("queue", queue, shutdown=15.0),
    ]
    tree = Supervisor(
        "root", children, max_restarts=5, period=60.0, ping_interval=10.0, ping_timeout=30.0
    )
    system = System(settings=settings, paths=paths, bus=bus, tree=tree, damage=damage)
    for spec in children:
        refs[spec.id] = tree.ref(spec.id)
    system.refs = refs
    system.reason_sources = [
        refs[name] for name in ("config_store", "state", "history", "catalog", "queue")
    ]
    return system
