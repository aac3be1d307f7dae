"""The ``harness`` fixture: a queue actor with a gated executor, one plugin at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from actors.queue.actor import QueueSettings
from tests.actors.queue.queue_harness import Harness


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = Harness(tmp_path, QueueSettings(concurrency=1, deadline_s=30.0))
    yield h
    await h.stop()
