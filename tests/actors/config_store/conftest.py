"""Config store fixtures: a data directory with real plugin schemas, and a running store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from actors.paths import DataPaths

from .helpers import Harness, make_paths, running_store


@pytest.fixture
def paths(tmp_path: Path) -> DataPaths:
    return make_paths(tmp_path / "data")


@pytest.fixture
async def store(paths: DataPaths) -> AsyncIterator[Harness]:
    async with running_store(paths) as harness:
        yield harness
