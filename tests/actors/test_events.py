"""The event bus: the contract's topics only, growing numbers, subscribers that cannot hurt it."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from actors.events import TOPICS, Event, EventBus


def test_subscribers_get_their_topics_in_order_with_growing_numbers() -> None:
    bus = EventBus()
    everything: list[Event] = []
    configs: list[Event] = []
    bus.subscribe(everything.append)
    bus.subscribe(configs.append, topics=["config"])
    bus.publish("operation", {"n": 1})
    bus.publish("config", {"n": 2})
    assert everything == [Event(1, "operation", {"n": 1}), Event(2, "config", {"n": 2})]
    assert configs == [Event(2, "config", {"n": 2})]


def test_an_unknown_topic_is_refused_and_publishes_nothing() -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(seen.append)
    with pytest.raises(ValueError, match="unknown event topic 'plugins'"):
        bus.publish("plugins", {})
    assert seen == []
    assert bus.publish("config", {}).seq == 1
    assert {"operation", "plugin_state", "health", "config", "reconcile"} == TOPICS


def test_a_failing_subscriber_is_logged_and_the_others_still_hear() -> None:
    bus = EventBus()
    seen: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("subscriber bug")

    bus.subscribe(broken)
    bus.subscribe(seen.append)
    with capture_logs() as logs:
        event = bus.publish("plugin_state", {"plugin_id": "clock"})
    assert seen == [event]
    assert [(e["event"], e["topic"], e["seq"]) for e in logs] == [
        ("event_subscriber_failed", "plugin_state", 1)
    ]


def test_an_unsubscribed_callback_hears_nothing_more() -> None:
    bus = EventBus()
    seen: list[Event] = []
    unsubscribe = bus.subscribe(seen.append)
    bus.publish("operation", {})
    unsubscribe()
    unsubscribe()  # twice is harmless
    bus.publish("operation", {})
    assert [e.seq for e in seen] == [1]
