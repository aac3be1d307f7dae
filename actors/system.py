"""The supervision tree, built in one place: every actor gets the refs it talks to, explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from actors.config_store import make_config_store
from actors.events import EventBus
from actors.paths import DataPaths
from actors.timeutil import now_iso
from supervision import ActorRef, ChildSpec, Supervisor

REPO_ROOT = Path(__file__).resolve().parent.parent
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

    def ref(self, name: str) -> ActorRef:
        return self.refs[name]


def build_system(settings: Settings) -> System:
    """Lay out the data directory and build (not start) the supervision tree."""
    paths = DataPaths(settings.data_dir.resolve())
    paths.ensure()
    bus = EventBus()
    children: list[ChildSpec] = []
    # --- child specs (in start order) are added here by each actor's issue ---
    children.append(ChildSpec("config_store", make_config_store(paths, bus)))
    tree = Supervisor("root", children, max_restarts=5, period=60.0)
    system = System(settings=settings, paths=paths, bus=bus, tree=tree)
    for spec in children:
        system.refs[spec.id] = tree.ref(spec.id)
    # --- reason sources are registered here ---
    system.reason_sources.append(system.refs["config_store"])
    return system
