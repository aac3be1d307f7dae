"""The supervision tree, built in one place: every actor gets the refs it talks to, explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import structlog

from actors.access import AccessToken, KeeperSettings, TokenKeeper
from actors.catalog.actor import Catalog
from actors.config_store import make_config_store
from actors.damage import Damage
from actors.errors import PlugvisorError
from actors.events import EventBus
from actors.fsio import Syncer
from actors.health import HealthActor
from actors.health.checks import HealthSettings
from actors.health.tracker import HealthTracker
from actors.history.actor import HistoryActor
from actors.history.messages import RecordOperationOnce
from actors.history.store import HistoryLimits
from actors.installer import Installer, PipOptions, Registry
from actors.paths import DataPaths
from actors.queue.actor import OperationQueue, QueueSettings
from actors.queue.journal import Journal
from actors.queue.plugin_executor import PluginExecutor
from actors.queue.records import Operation
from actors.reconciler import Reconciler, ReconcilerSettings
from actors.reconciler.facts import Sources
from actors.secret_values import SecretValues
from actors.state import StateActor, follow_events
from actors.timeouts import AskTimeouts
from actors.timeutil import now_iso
from supervision import ActorRef, ChildSpec, SupervisionError, Supervisor

log = structlog.get_logger(__name__)

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
    timeouts: AskTimeouts = field(default_factory=AskTimeouts)
    shutdown_timeout_s: float = 10.0
    queue_concurrency: int = 1
    operation_deadline_s: float = 600.0
    operation_retention: int = 1000
    backups_keep: int = 5
    history_max_file_bytes: int = 4 * 1024 * 1024
    history_max_total_bytes: int = 64 * 1024 * 1024
    pip: PipOptions = field(default_factory=PipOptions)
    # HTTP connections (web/connection_limits.py): 0 derives the cap from RLIMIT_NOFILE.
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    keepalive_timeout_s: float = 15.0
    max_connections: int = 0
    fsync_delay_s: float = 0.0  # benchmarks only: imitate an SD card's fsync latency
    health: HealthSettings = field(default_factory=HealthSettings)
    reconcile_interval_s: float = 900.0  # 0 disables the periodic reconciliation
    # API access (actors/access): the token file named on the command line, else the config's
    # auth.token_file, else <data-dir>/auth/token; compared for a rotation every interval.
    token_file: str | None = None
    token_check_interval_s: float = 2.0


@dataclass(slots=True)
class System:
    """What the web front end may use: a ref to each actor of the tree, the event bus, the tree."""

    settings: Settings
    paths: DataPaths
    bus: EventBus
    tree: Supervisor
    config_store: ActorRef
    state: ActorRef
    history: ActorRef
    catalog: ActorRef
    queue: ActorRef
    health: ActorRef
    reconciler: ActorRef
    access_keeper: ActorRef
    # The token the API requires now (the keeper writes it, web/access.py reads it); locked
    # until the keeper has read the token file.
    access: AccessToken = field(default_factory=AccessToken)
    # Every secret value known (tokens, x-secret settings): the log redactor masks them.
    secrets: SecretValues = field(default_factory=SecretValues)
    started_at: str = field(default_factory=now_iso)
    # Damaged files set aside since start (health reasons the web front end shows as well).
    damage: Damage = field(default_factory=Damage)
    # The last supervisor health announced on the bus (the sd_notify watchdog consults it).
    health_tracker: HealthTracker = field(default_factory=HealthTracker)


def build_system(settings: Settings, secrets: SecretValues | None = None) -> System:
    """Lay out the data directory and build (not start) the supervision tree.

    ``secrets`` is the set the log redactor reads (run.py makes it before logging starts);
    the config store and the token keeper add every secret value they load or save.

    Start order matters: history first (it records the config events of everyone after
    it), then the config store and the state the queue's work updates, the catalog, the
    queue, so that it only runs operations once everything it needs is up, and the health
    actor, which reports on all of them.
    """
    paths = DataPaths(settings.data_dir.resolve())
    secrets = secrets if secrets is not None else SecretValues()
    access = AccessToken()
    damage = Damage(paths.root)
    paths.ensure(damage)
    bus = EventBus()
    syncer = Syncer(settings.fsync_delay_s)
    installer = Installer(paths, pip=settings.pip, syncer=syncer, damage=damage)
    timeouts = settings.timeouts
    # One journal (and its one I/O thread) for every incarnation of the queue, so a dying
    # incarnation's last write can never land after the next one's first.
    journal = Journal(paths.journal_dir, syncer=syncer, damage=damage)

    async def record_history(op: Operation) -> bool:
        # False leaves the journal saying "not recorded": the next start records it again.
        record = RecordOperationOnce.from_operation(op.to_journal())
        try:
            await system.history.ask(record, timeout=timeouts.write)
        except (PlugvisorError, SupervisionError, TimeoutError) as exc:
            log.warning("operation_not_recorded", operation_id=op.operation_id, error=str(exc))
            return False
        return True

    def history() -> HistoryActor:
        limits = HistoryLimits(
            max_file_bytes=settings.history_max_file_bytes,
            max_total_bytes=settings.history_max_total_bytes,
        )
        return HistoryActor(paths.history_dir, bus, limits=limits, syncer=syncer, damage=damage)

    def catalog() -> Catalog:
        # The catalog owns the registry, and so cache/: the queue asks it for entries.
        registry = Registry(
            settings.registry_url,
            paths.cache_dir,
            timeout_s=5.0,
            attempts=2,
            syncer=syncer,
            damage=damage,
        )
        return Catalog(installer, registry, system.state, ask_timeout_s=timeouts.read)

    def queue() -> OperationQueue:
        executor = PluginExecutor(
            installer,
            system.config_store,
            system.state,
            system.catalog,
            ask_timeout_s=timeouts.network,
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

    def reconciler() -> Reconciler:
        sources = Sources(
            system.config_store,
            system.state,
            system.queue,
            system.catalog,
            paths.plugins_dir,
            paths.tmp_dir,
            timeouts,
        )
        return Reconciler(
            sources,
            paths.reconcile_dir,
            bus,
            system.history,
            settings=ReconcilerSettings(interval_s=settings.reconcile_interval_s),
            syncer=syncer,
            damage=damage,
        )

    def access_keeper() -> TokenKeeper:
        return TokenKeeper(
            paths.auth_dir,
            paths.root,
            access,
            secrets,
            system.config_store,
            settings=KeeperSettings(
                host=settings.host,
                token_file=settings.token_file,
                interval_s=settings.token_check_interval_s,
            ),
            ask_timeout_s=timeouts.read,
            syncer=syncer,
        )

    def health() -> HealthActor:
        sources = (system.config_store, system.state, system.history, system.catalog, system.queue)
        sources += (system.reconciler, system.access_keeper)
        return HealthActor(
            tree,
            sources,
            paths.root,
            probe_timeout_s=timeouts.probe,
            damage=damage,
            bus=bus,
            queue=system.queue,
            health_dir=paths.health_dir,
            settings=settings.health,
            deadline_s=settings.operation_deadline_s,
            syncer=syncer,
            tracker=system.health_tracker,
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
                secrets=secrets,
            ),
        ),
        ChildSpec("access", access_keeper),
        ChildSpec(
            "state",
            lambda: StateActor(
                paths,
                system.config_store,
                bus,
                syncer=syncer,
                ask_timeout_s=timeouts.read,
                installed_listener=system.catalog,  # keeps its installed listing current
            ),
        ),
        ChildSpec("catalog", catalog),
        ChildSpec("queue", queue, shutdown=15.0),
        ChildSpec("reconciler", reconciler),
        ChildSpec("health", health),
    ]
    tree = Supervisor(
        "root", children, max_restarts=5, period=60.0, ping_interval=10.0, ping_timeout=30.0
    )
    # The factories above reach their siblings through `system`: they run at start(), after this.
    system = System(
        settings=settings,
        paths=paths,
        bus=bus,
        tree=tree,
        config_store=tree.ref("config_store"),
        state=tree.ref("state"),
        history=tree.ref("history"),
        catalog=tree.ref("catalog"),
        queue=tree.ref("queue"),
        health=tree.ref("health"),
        reconciler=tree.ref("reconciler"),
        access_keeper=tree.ref("access"),
        access=access,
        secrets=secrets,
        damage=damage,
    )
    follow_events(bus, system.state)  # the state's view follows the config and the queue
    system.health_tracker.follow(bus)
    return system
