"""Fixtures for the installer tests: a data dir, servers, a wheelhouse, installer factories."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from installer_helpers import HttpServer, RegistryInstaller, SilentServer, build_wheel

from actors.installer import ArchiveLimits, Installer, PipOptions, Registry
from actors.paths import DataPaths


@pytest.fixture
def data_paths(tmp_path: Path) -> DataPaths:
    paths = DataPaths(tmp_path / "data")
    paths.ensure()
    return paths


@pytest.fixture
async def http_server() -> AsyncIterator[HttpServer]:
    server = HttpServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def silent_server() -> AsyncIterator[SilentServer]:
    server = SilentServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Local wheels: a test dependency, and stand-ins for what the weather fixture requires."""
    folder = tmp_path_factory.mktemp("wheelhouse")
    build_wheel(folder, "plugvisor-testdep", "1.0.0", "plugvisor_testdep")
    build_wheel(folder, "requests", "2.31.0", "requests")
    build_wheel(folder, "Pillow", "10.0.0", "PIL")
    build_wheel(folder, "pytz", "2024.1", "pytz")
    return folder


@pytest.fixture
def pip_options(wheelhouse: Path) -> PipOptions:
    return PipOptions(no_index=True, find_links=(str(wheelhouse),), timeout_s=60.0)


@pytest.fixture
def make_installer(
    data_paths: DataPaths, pip_options: PipOptions
) -> Callable[..., RegistryInstaller]:
    def make(registry_source: str | Path, **kwargs: Any) -> RegistryInstaller:
        registry = Registry(
            str(registry_source), data_paths.cache_dir, backoff_s=0.01, timeout_s=5.0
        )
        kwargs.setdefault("pip", pip_options)
        kwargs.setdefault("limits", ArchiveLimits())
        kwargs.setdefault("git_timeout_s", 30.0)
        kwargs.setdefault("download_timeout_s", 10.0)
        kwargs.setdefault("download_backoff_s", 0.01)
        return RegistryInstaller(Installer(data_paths, **kwargs), registry)

    return make
