"""Errors the actor runtime raises to callers of ``ActorRef`` and ``Supervisor``."""

from __future__ import annotations


class SupervisionError(Exception):
    """Base of the runtime's own errors; ``actor`` names the actor (its path) when known."""

    def __init__(self, message: str, *, actor: str | None = None) -> None:
        super().__init__(message)
        self.actor = actor


class ActorCrashed(SupervisionError):
    """The actor crashed (or was killed as wedged) while it was handling this ask."""


class ActorStopped(SupervisionError):
    """The actor has stopped for good (or is a supervisor slot): the message was not handled."""


class AskTimeout(SupervisionError, TimeoutError):
    """No answer within the ask's timeout; whether the message was handled is unknown."""


class MailboxFull(SupervisionError):
    """``tell_nowait`` found the mailbox at its bound."""


class NoHandler(SupervisionError, TypeError):
    """An ask carried a message type the actor has no ``@handles`` method for."""


class ActorWedged(SupervisionError):
    """The actor did not answer the supervisor's liveness ping in time (recorded as last_error)."""


class StartError(SupervisionError):
    """A supervisor could not start one of its children; ``__cause__`` holds the child's error."""


class SupervisorGaveUp(SupervisionError):
    """A nested supervisor passed its restart intensity; its parent sees this as the crash."""


class InjectedCrash(Exception):
    """The crash a fault injection causes (supervision/faults.py; tests and soaks only)."""


class NormalExit(Exception):
    """Raise in a handler, hook or spawned task to stop the actor normally (not a crash)."""
