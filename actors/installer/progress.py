"""Operation stages and the progress reporter every installer step reports through."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

import structlog

from actors.installer.blocking import run_to_completion


class Stage(StrEnum):
    """The operation stages of the HTTP contract that the installer goes through."""

    RESOLVING = "resolving"
    DOWNLOADING = "downloading"
    VERIFYING = "verifying"
    INSTALLING_DEPENDENCIES = "installing_dependencies"
    ACTIVATING = "activating"
    REMOVING = "removing"


# ``progress(stage, progress, message)``; may be a plain function or a coroutine function.
ProgressCallback = Callable[[str, float, str], Awaitable[None] | None]

# The share of the whole operation each stage covers, so the overall figure only grows.
_SPANS: dict[Stage, tuple[float, float]] = {
    Stage.RESOLVING: (0.0, 0.1),
    Stage.DOWNLOADING: (0.1, 0.5),
    Stage.VERIFYING: (0.5, 0.6),
    Stage.INSTALLING_DEPENDENCIES: (0.6, 0.85),
    Stage.ACTIVATING: (0.85, 1.0),
    Stage.REMOVING: (0.0, 1.0),
}


class Progress:
    """Turns (stage, fraction of the stage) into a never-decreasing overall 0..1 figure."""

    def __init__(self, callback: ProgressCallback | None, log: Any = None) -> None:
        self._callback = callback
        self._log = log or structlog.get_logger(__name__)
        self.value = 0.0
        self.stage: Stage | None = None

    async def report(self, stage: Stage, fraction: float, message: str) -> None:
        low, high = _SPANS[stage]
        overall = round(low + (high - low) * min(max(fraction, 0.0), 1.0), 4)
        self.value = max(self.value, overall)
        self.stage = stage
        if self._callback is None:
            return
        try:
            outcome = self._callback(stage.value, self.value, message)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:  # a faulty observer must never fail the operation
            self._log.warning("progress_callback_failed", stage=stage.value, exc_info=True)

    async def done(self, stage: Stage, message: str) -> bool:
        """The last report, made after the commit point: not cut short by a cancel.

        Returns whether a cancel arrived meanwhile (the caller then accepts it as too late).
        """
        _, cancelled = await run_to_completion(self.report(stage, 1.0, message))
        return cancelled
