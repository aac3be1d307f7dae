"""How long a caller waits for an actor's answer: one policy, named by the kind of question."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AskTimeouts:
    """Seconds to wait for an answer; past them the caller gets ``AskTimeout`` (HTTP 504)."""

    # Answered from what the actor holds: states, operations, history pages, configs.
    read: float = 5.0
    # Answered once a change is durable on disk: saves, toggles, queued operations.
    write: float = 10.0
    # May wait on the plugin registry over the network: entries, the store, a refresh.
    network: float = 45.0
    # The supervisor's health report, which waits on every component's probe.
    report: float = 10.0
    # A component slower than this to give its health reasons is reported unresponsive.
    probe: float = 2.0
