"""Child specifications, restart types, strategies, and the exit reasons a supervisor reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Restart(StrEnum):
    """When a child is restarted (OTP restart types)."""

    PERMANENT = "permanent"  # always
    TRANSIENT = "transient"  # only after an abnormal exit (a crash, not a normal exit)
    TEMPORARY = "temporary"  # never; its spec is dropped when it exits


class Strategy(StrEnum):
    """Which children restart when one of them has to."""

    ONE_FOR_ONE = "one_for_one"  # only the dead child
    ONE_FOR_ALL = "one_for_all"  # every child
    REST_FOR_ONE = "rest_for_one"  # the dead child and those started after it


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """How to run one child: ``factory()`` returns a fresh ``Actor`` or a ``Supervisor``.

    ``shutdown`` is the seconds a clean stop may take before the child is cancelled (None: no
    limit, sensible for nested supervisors only). ``mailbox_size`` bounds an actor's mailbox.
    ``start_timeout`` bounds ``started()`` (or a nested supervisor's whole start); None: no limit.
    """

    id: str
    factory: Callable[[], Any]
    restart: Restart = Restart.PERMANENT
    shutdown: float | None = 5.0
    mailbox_size: int = 1000
    start_timeout: float | None = 30.0

    def __post_init__(self) -> None:
        if not self.id or "/" in self.id:
            raise ValueError(f"child id must be non-empty and without '/': {self.id!r}")
        if not callable(self.factory):
            raise TypeError(f"child {self.id!r}: factory must be callable")
        object.__setattr__(self, "restart", Restart(self.restart))
        if self.shutdown is not None and self.shutdown < 0:
            raise ValueError(f"child {self.id!r}: shutdown must be >= 0 or None")
        if self.mailbox_size < 1:
            raise ValueError(f"child {self.id!r}: mailbox_size must be >= 1")
        if self.start_timeout is not None and self.start_timeout <= 0:
            raise ValueError(f"child {self.id!r}: start_timeout must be > 0 or None")


@dataclass(frozen=True, slots=True)
class SupervisorExit:
    """How a supervisor ended: ``failed`` is True when it gave up (the process should exit 1)."""

    failed: bool
    reason: str


class ExitKind(StrEnum):
    NORMAL = "normal"  # stop(), NormalExit, or a clean stop asked by the supervisor
    CRASHED = "crashed"  # an exception, a wedge, or a nested supervisor giving up
    CANCELLED = "cancelled"  # cancelled by someone other than its supervisor (abnormal)


@dataclass(frozen=True, slots=True)
class Exit:
    """Why one incarnation of a child ended."""

    kind: ExitKind
    error: BaseException | None = None

    @property
    def abnormal(self) -> bool:
        return self.kind is not ExitKind.NORMAL


NORMAL_EXIT = Exit(ExitKind.NORMAL)
