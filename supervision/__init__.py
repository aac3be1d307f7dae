"""The actor runtime: actors with bounded mailboxes, ask/tell, OTP-style supervision, sd_notify.

Usable on its own: it never imports ``actors/`` or ``web/``. The rules, in short:

* ``ActorRef`` (from ``Supervisor.ref(child_id)``, valid before ``start()`` and across
  restarts) owns the mailbox. ``await ref.ask(msg, timeout=5.0)`` returns the handler's value
  or raises its exception (the actor lives on); ``AskTimeout`` (a ``TimeoutError``) after
  ``timeout``; ``ActorCrashed`` when the actor crashed while handling it (messages queued
  behind go to the next incarnation); ``ActorStopped`` once it stopped for good; ``NoHandler``
  for a message type without handler. ``await ref.tell(msg)`` waits for room,
  ``ref.tell_nowait(msg)`` raises ``MailboxFull``. An exception in a tell handler crashes
  the actor; a tell without handler is logged and dropped.
* Inside an actor: ``self.ref``, ``self.spawn(coro, name=...)`` (a task of this incarnation)
  and ``self.drain(predicate, limit) -> list[Envelope]`` (group commit; see ``Actor.drain``).
* Normal exit: ``self.stop()`` or ``raise NormalExit``. Transient and temporary children are
  then not restarted; permanent ones are. A crash is any other exception, a spawned task's
  exception, or a wedge (no answer to the supervisor's liveness ping in time).
* ``Supervisor(name, [ChildSpec(...)], strategy=..., max_restarts=3, period=60.0,
  backoff_initial=0.1, backoff_max=10.0, ping_interval=10.0, ping_timeout=10.0)``: children
  start in order and stop in reverse order; restart intensity is a sliding window over all
  children (every attempt counts), with exponential backoff before each attempt; past the
  limit the supervisor stops its children and ends with ``SupervisorExit(failed=True)``,
  which its parent treats as a crash and ``wait_exit()`` returns at the root.
* ``sup.stats()`` lists ``ActorStats`` for every actor of the subtree in start order, named
  by path (``root/child``, ``root/nested/child``); ``sup.healthy`` is False unless the
  supervisor runs and every permanent child runs (a nested one: is healthy).
"""

from supervision.actor import Actor, handles
from supervision.errors import (
    ActorCrashed,
    ActorStopped,
    ActorWedged,
    AskTimeout,
    MailboxFull,
    NoHandler,
    NormalExit,
    StartError,
    SupervisionError,
    SupervisorGaveUp,
)
from supervision.mailbox import Envelope
from supervision.ref import ActorRef
from supervision.specs import ChildSpec, Restart, Strategy, SupervisorExit
from supervision.stats import ActorStats, Status
from supervision.supervisor import Supervisor
from supervision.systemd import Notifier

__all__ = [
    "Actor",
    "ActorCrashed",
    "ActorRef",
    "ActorStats",
    "ActorStopped",
    "ActorWedged",
    "AskTimeout",
    "ChildSpec",
    "Envelope",
    "MailboxFull",
    "NoHandler",
    "NormalExit",
    "Notifier",
    "Restart",
    "StartError",
    "Status",
    "Strategy",
    "SupervisionError",
    "Supervisor",
    "SupervisorExit",
    "SupervisorGaveUp",
    "handles",
]
