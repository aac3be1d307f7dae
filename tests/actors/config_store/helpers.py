"""Config store test helpers: plugins on disk and a store running under a supervisor."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from actors.config_store import make_config_store
from actors.events import Event, EventBus
from actors.fsio import Syncer
from actors.paths import DataPaths
from supervision import ActorRef, ChildSpec, Supervisor
from tests.conftest import FIXTURES

FIXTURE_PLUGINS = (
    "hello-world",
    "clock-simple",
    "weather",
    "baseball-scoreboard",
    "football-scoreboard",
)

# A plugin with secrets at the top level, nested in an object and inside an array of objects.
VAULT_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "enabled": {"type": "boolean", "default": False},
        "label": {"type": "string", "default": "vault"},
        "token": {"type": "string", "x-secret": True},
        "account": {
            "type": "object",
            "properties": {
                "user": {"type": "string"},
                "password": {"type": "string", "x-secret": True},
            },
            "additionalProperties": False,
        },
        "feeds": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "url": {"type": "string"},
                    "key": {"type": "string", "x-secret": True},
                },
                "required": ["url"],
                "additionalProperties": False,
            },
            "default": [],
        },
    },
    "additionalProperties": False,
}


def install_fixture(paths: DataPaths, name: str) -> None:
    shutil.copytree(FIXTURES / name, paths.plugins_dir / name, dirs_exist_ok=True)


def install_plugin(paths: DataPaths, plugin_id: str, schema: dict[str, Any] | None) -> None:
    folder = paths.plugins_dir / plugin_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_bytes(orjson.dumps({"id": plugin_id, "name": plugin_id}))
    if schema is not None:
        (folder / "config_schema.json").write_bytes(orjson.dumps(schema))


def make_paths(root: Path) -> DataPaths:
    paths = DataPaths(root)
    paths.ensure()
    for name in FIXTURE_PLUGINS:
        install_fixture(paths, name)
    install_plugin(paths, "vault", VAULT_SCHEMA)
    install_plugin(paths, "bare", None)
    return paths


def read_json(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


@dataclass
class Harness:
    ref: ActorRef
    bus: EventBus
    syncer: Syncer
    paths: DataPaths
    events: list[Event] = field(default_factory=list)

    async def ask(self, message: Any, timeout: float = 10.0) -> Any:
        return await self.ref.ask(message, timeout=timeout)

    def config_events(self) -> list[dict[str, Any]]:
        return [event.data for event in self.events if event.topic == "config"]


@asynccontextmanager
async def running_store(
    paths: DataPaths, syncer: Syncer | None = None, **options: Any
) -> AsyncIterator[Harness]:
    bus = EventBus()
    syncer = syncer or Syncer()
    tree = Supervisor(
        "test", [ChildSpec("config_store", make_config_store(paths, bus, syncer=syncer, **options))]
    )
    harness = Harness(tree.ref("config_store"), bus, syncer, paths)
    bus.subscribe(harness.events.append)
    await tree.start()
    try:
        yield harness
    finally:
        await tree.stop()
