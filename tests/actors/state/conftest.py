"""State actor fixtures: a fresh data directory and the list the bus publishes into."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.events import Event
from actors.paths import DataPaths


@pytest.fixture
def paths(tmp_path: Path) -> DataPaths:
    paths = DataPaths(tmp_path / "data")
    paths.ensure()
    return paths


@pytest.fixture
def events() -> list[Event]:
    return []
