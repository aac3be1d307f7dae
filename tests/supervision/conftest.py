"""Fixtures for the actor runtime tests (they never import actors/ or web/)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

# The repository root and this folder must be importable however pytest is invoked
# (`.venv/bin/pytest` does not put the working directory on sys.path).
for _path in (Path(__file__).resolve().parents[2], Path(__file__).resolve().parent):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from supervision_testkit import Journal, supervisor  # noqa: E402

from supervision import Supervisor  # noqa: E402


@pytest.fixture
def journal() -> Journal:
    return Journal()


@pytest.fixture
async def tree() -> AsyncIterator[Callable[..., Supervisor]]:
    """Build supervisors (test defaults) that are stopped at teardown whatever happened."""
    built: list[Supervisor] = []

    def build(name: str, children: list[Any], **options: Any) -> Supervisor:
        sup = supervisor(name, children, **options)
        built.append(sup)
        return sup

    yield build
    for sup in reversed(built):
        async with asyncio.timeout(30):
            await sup.stop()
