"""A queue actor under a real supervisor, with executors a test controls: gates, hangs, failures."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from actors.errors import ErrorCode, PlugvisorError
from actors.events import Event, EventBus
from actors.queue.actor import OperationQueue, QueueSettings
from actors.queue.executor import Commit, Report
from actors.queue.journal import Journal
from actors.queue.records import Operation
from supervision import ActorRef, ChildSpec, Supervisor


class GatedExecutor:
    """Each operation waits at a gate the test opens; the test sees starts and rollbacks."""

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}
        self.started: list[str] = []
        self.started_event = asyncio.Event()
        self.rolled_back: list[str] = []
        self.fail: set[str] = set()
        self.hang: set[str] = set()
        self.recovered = 0
        self.settled: list[str] = []
        self.refuse_settle: set[str] = set()  # operation ids whose config step is refused
        self.landed: dict[str, dict[str, Any]] = {}  # operation id -> result of a landed run

    async def recover(self) -> None:
        self.recovered += 1

    async def settle(self, op: Operation) -> dict[str, Any] | None:
        self.settled.append(op.operation_id)
        if op.operation_id in self.refuse_settle:
            raise PlugvisorError(ErrorCode.INSUFFICIENT_STORAGE, "No space left on the device")
        return self.landed.get(op.operation_id)

    def gate(self, plugin_id: str) -> asyncio.Event:
        return self.gates.setdefault(plugin_id, asyncio.Event())

    async def prepare(self, op: Operation, report: Report, private: dict[str, Any]) -> Commit:
        key = f"{op.operation_type}:{op.plugin_id}"
        self.started.append(key)
        self.started_event.set()
        report("resolving", 0.1, "Resolving")
        try:
            if op.plugin_id in self.hang:
                await asyncio.Event().wait()
            await self.gate(op.plugin_id or "").wait()
        except asyncio.CancelledError:
            self.rolled_back.append(key)
            raise
        if op.plugin_id in self.fail:
            raise PlugvisorError(ErrorCode.PLUGIN_INSTALL_FAILED, "Manifest is not valid JSON")
        report("activating", 0.9, "Activating")

        async def commit() -> dict[str, Any]:
            return {"plugin_id": op.plugin_id, "message": f"Plugin {op.plugin_id} done"}

        return commit


class FailingCommitExecutor(GatedExecutor):
    """The files 'land', then recording them fails (a config store that refuses, say)."""

    async def prepare(self, op: Operation, report: Report, private: dict[str, Any]) -> Commit:
        await super().prepare(op, report, private)

        async def commit() -> dict[str, Any]:
            raise PlugvisorError(ErrorCode.CONFIG_VALIDATION_FAILED, "schema is not valid")

        return commit


class SlowCommitExecutor(GatedExecutor):
    """Its commit waits at a gate of its own and can learn the plugin id (as URL installs do)."""

    def __init__(self, learns_id: str | None = None) -> None:
        super().__init__()
        self.committing = asyncio.Event()
        self.commit_gate = asyncio.Event()
        self.learns_id = learns_id

    async def prepare(self, op: Operation, report: Report, private: dict[str, Any]) -> Commit:
        await super().prepare(op, report, private)

        async def commit() -> dict[str, Any]:
            if self.learns_id:
                op.plugin_id = self.learns_id
            self.committing.set()
            await self.commit_gate.wait()
            return {"plugin_id": op.plugin_id, "message": "landed"}

        return commit


class Harness:
    """One queue actor over a journal in ``tmp_path``; its events and history in lists."""

    def __init__(self, tmp_path: Path, settings: QueueSettings) -> None:
        self.tmp_path = tmp_path
        self.settings = settings
        self.bus = EventBus()
        self.executor = GatedExecutor()
        self.events: list[Event] = []
        self.history: list[dict[str, Any]] = []
        self.bus.subscribe(self.events.append)
        self.tree: Supervisor | None = None
        self.journal: Journal | None = None

    async def start(self) -> ActorRef:
        journal = self.journal or Journal(self.tmp_path)
        self.tree = Supervisor(
            "test",
            [
                ChildSpec(
                    "queue",
                    lambda: OperationQueue(
                        journal,
                        self.executor,
                        self.bus,
                        settings=self.settings,
                        record_history=self.record,
                    ),
                )
            ],
        )
        await self.tree.start()
        return self.tree.ref("queue")

    async def record(self, op: Operation) -> bool:
        self.history.append(op.to_dict())
        return True

    async def stop(self) -> None:
        if self.tree is not None:
            await self.tree.stop()
