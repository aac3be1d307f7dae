"""x-secret wherever a schema can declare a value: combinators, additional and pattern
properties, tuple items, $ref, dependencies, if/then; unit level and through the store."""

from __future__ import annotations

import copy

import orjson
import pytest
from structlog.testing import capture_logs

from actors.config_store import GetPluginConfig, SavePluginConfig
from actors.config_store.secrets import apply_update, join, masked, split_section
from actors.config_store.validation import Checker, plugin_schema

from .helpers import Harness, install_plugin, read_json
from .hostile_schema import (
    CLEAR_PART,
    HOSTILE_SCHEMA,
    MASK,
    MASKED,
    SECRET,
    SECRET_PART,
    SECTION,
    secret,
)


def test_every_declaration_site_splits_its_secrets_out() -> None:
    clear, secrets = split_section(HOSTILE_SCHEMA, copy.deepcopy(SECTION))
    assert (clear, secrets) == (CLEAR_PART, SECRET_PART)
    assert SECRET not in orjson.dumps(clear).decode()
    assert join(clear, secrets) == SECTION
    assert masked(HOSTILE_SCHEMA, clear, secrets) == MASKED
    # what an older version left in clear text is masked on the way out all the same
    assert masked(HOSTILE_SCHEMA, copy.deepcopy(SECTION), {}) == MASKED


def test_the_checker_resolver_follows_refs_in_the_plugin_schema() -> None:
    checker = Checker(plugin_schema(HOSTILE_SCHEMA))
    clear, secrets = split_section(checker.schema, SECTION, resolver=checker.resolver)
    assert (clear, secrets) == (CLEAR_PART, SECRET_PART)
    assert checker.errors(SECTION) == []


DEFINITIONS = {
    "a": {"$ref": "#/definitions/b"},
    "b": {"x-secret": True},
    "loop": {"$ref": "#/definitions/loop"},
}


@pytest.mark.parametrize(
    ("schema", "value", "is_secret"),
    [
        ({"anyOf": [{"type": "integer"}, {"x-secret": True}]}, 5, True),  # any branch decides
        ({"oneOf": [{"allOf": [{"anyOf": [{"x-secret": True}]}]}]}, "x", True),
        ({"$ref": "#/definitions/a"}, "x", True),  # a chain of references
        ({"$ref": "#/definitions/loop"}, "x", False),  # a loop ends
        ({"$ref": "#/definitions/nowhere"}, "x", False),  # unresolvable: validation says so
        ({"not": {"x-secret": True}}, "x", False),  # "not" declares nothing
        ({"x-secret": False, "anyOf": [{"type": "string"}]}, "x", False),
        ({"items": {"oneOf": [{"x-secret": True}]}}, [1, 2], True),
        ({"contains": {"x-secret": True}}, [1, 2], True),
        ({"items": [{"type": "integer"}], "additionalItems": {"x-secret": True}}, [1, 2], True),
        ({"items": [{"type": "integer"}], "additionalItems": {"x-secret": True}}, [1], False),
    ],
)
def test_a_value_is_secret_when_any_applicable_schema_says_so(
    schema: dict, value: object, is_secret: bool
) -> None:
    root = {"definitions": DEFINITIONS, "properties": {"v": schema}}
    clear, secrets = split_section(root, {"v": value})
    assert (clear, secrets) == (({}, {"v": value}) if is_secret else ({"v": value}, {}))


def test_pattern_and_additional_properties_follow_their_own_schema_object() -> None:
    schema = {
        "properties": {
            "m": {
                "properties": {"plain": {"type": "string"}},
                "patternProperties": {"^pw_": {"type": "string"}, "_key$": {"x-secret": True}},
                "additionalProperties": {"x-secret": True},
                "allOf": [{"properties": {"plain": {"type": "string"}}}],
            }
        }
    }
    value = {"m": {"plain": "a", "pw_x": "b", "pw_key": "c", "other": "d"}}
    clear, secrets = split_section(schema, value)
    assert clear == {"m": {"plain": "a", "pw_x": "b"}}
    assert secrets == {"m": {"pw_key": "c", "other": "d"}}


def test_update_semantics_hold_for_combinator_secrets() -> None:
    stored = copy.deepcopy(SECTION)
    posted = copy.deepcopy(MASKED)  # a read sent back as it is
    posted["label"] = "changed"
    posted["tokens"] = {"github": MASK, "gitlab": None, "new": "fresh"}
    posted["any"] = None
    new = apply_update(stored, MASKED, posted)
    assert new["tokens"] == {"github": secret(4), "new": "fresh"}
    assert "any" not in new
    assert new["pair"] == SECTION["pair"] and new["nested"] == SECTION["nested"]
    assert new["label"] == "changed" and new["one"] == secret(1)


async def test_the_store_keeps_combinator_secrets_out_of_config_json(store: Harness) -> None:
    install_plugin(store.paths, "hostile", HOSTILE_SCHEMA)
    with capture_logs() as logs:
        saved = await store.ask(SavePluginConfig("hostile", copy.deepcopy(SECTION)))
        shown = await store.ask(GetPluginConfig("hostile"))
        await store.ask(SavePluginConfig("hostile", {**shown.data, "label": "again"}))
    assert saved.data == {**MASKED, **_core()} and shown.data == saved.data
    config_dir = store.paths.config_dir
    assert SECRET.encode() not in (config_dir / "config.json").read_bytes()
    assert read_json(config_dir / "config_secrets.json")["hostile"] == SECRET_PART
    stored = read_json(config_dir / "config.json")["hostile"]
    assert stored == {**CLEAR_PART, "label": "again", **_core()}
    assert SECRET not in repr(logs) + repr([event.data for event in store.events])
    assert SECRET not in repr(shown) + shown.etag


def _core() -> dict:
    return {"enabled": True, "display_duration": 15, "live_priority": False}


def test_reads_hide_the_default_of_a_combinator_secret_and_follow_local_refs() -> None:
    checker = Checker(
        {
            "definitions": {"count": {"type": "integer", "default": 5}},
            "properties": {
                "key": {"anyOf": [{"type": "string", "x-secret": True}], "default": "YOUR_KEY"},
                "count": {"$ref": "#/definitions/count"},
            },
        }
    )
    assert checker.fill_defaults({}) == {"count": 5}
    assert checker.fill_defaults({}, secrets=True) == {"key": "YOUR_KEY", "count": 5}
