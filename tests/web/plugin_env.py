"""A real system for the plugin API tests: local git repositories and registry, a live server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from actors.installer import PipOptions
from actors.system import Settings, System, build_system
from tests.actors.installer.installer_helpers import (
    GitRepo,
    plugin_files,
    registry_entry,
    write_registry,
)
from tests.conftest import start_reconciled
from tests.polling import wait_until
from web.app import create_app
from web.auth_limits import FailureLimiter
from web.connection_limits import ConnectionLimits, derive_limits
from web.feed_session import FeedOptions
from web.server import PlugvisorRunner


@dataclass
class PluginEnv:
    """Git repositories for the plugins ``clock`` and ``ticker``, and a registry naming them."""

    root: Path
    repos: dict[str, GitRepo] = field(default_factory=dict)
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def registry_path(self) -> Path:
        return self.root / "registry.json"

    def add_plugin(self, plugin_id: str, version: str = "1.0.0", **entry: Any) -> GitRepo:
        repo = GitRepo(self.root / "repos" / plugin_id)
        repo.commit(plugin_files(plugin_id, version), f"{plugin_id} {version}")
        self.repos[plugin_id] = repo
        self.add_entry(registry_entry(plugin_id, repo.url, latest_version=version, **entry))
        return repo

    def add_entry(self, entry: dict[str, Any]) -> None:
        self.entries = [e for e in self.entries if e["id"] != entry["id"]] + [entry]
        write_registry(self.registry_path, self.entries)

    def settings(self, **changes: Any) -> Settings:
        base = Settings(
            data_dir=self.root / "data",
            registry_url=str(self.registry_path),
            pip=PipOptions(no_index=True, timeout_s=60.0),
        )
        return replace(base, **changes)


def make_env(tmp_path: Path) -> PluginEnv:
    env = PluginEnv(tmp_path)
    env.add_plugin("clock")
    env.add_plugin("ticker")
    return env


class GuardedTestServer(TestServer):
    """aiohttp's TestServer serving through run.py's runner: the same connection handling
    (read timeouts, connection limit, enveloped parser errors)."""

    def __init__(self, app: web.Application, limits: ConnectionLimits) -> None:
        super().__init__(app, host="127.0.0.1")
        self.limits = limits

    async def _make_runner(self, **kwargs: Any) -> web.BaseRunner:
        return PlugvisorRunner(self.app, self.limits, **kwargs)


class RunningApi:
    """A started system behind a real aiohttp server on 127.0.0.1."""

    def __init__(
        self,
        settings: Settings,
        feed_options: FeedOptions | None = None,
        *,
        limiter: FailureLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.feed_options = feed_options
        self.limiter = limiter
        self.system: System | None = None
        self.client: TestClient | None = None

    async def __aenter__(self) -> RunningApi:
        self.system = build_system(self.settings)
        await self.system.tree.start()
        await start_reconciled(self.system)
        server = GuardedTestServer(
            create_app(self.system, self.feed_options, limiter=self.limiter),
            derive_limits(self.settings),
        )
        self.client = TestClient(server)
        await self.client.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.client is not None and self.system is not None
        await self.client.close()
        await self.system.tree.stop()

    async def post(self, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        assert self.client is not None
        response = await self.client.post(path, json=body, **kwargs)
        return response.status, await response.json()

    async def get(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        assert self.client is not None
        response = await self.client.get(path, **kwargs)
        return response.status, await response.json()

    async def wait_operation(self, operation_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """Poll the operation over HTTP until it ends (bounded in time)."""

        async def finished() -> dict[str, Any] | None:
            status, body = await self.get(f"/api/v3/plugins/operation/{operation_id}")
            assert status == 200, body
            return None if body["data"]["status"] in ("pending", "running") else body["data"]

        return await wait_until(
            finished, what=f"operation {operation_id} to end", timeout=timeout, interval=0.02
        )


async def running(settings: Settings) -> AsyncIterator[RunningApi]:
    async with RunningApi(settings) as api:
        yield api
