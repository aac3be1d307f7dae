"""The version comparator and LEDMatrix-style ranges, and the manifest compatibility gate."""

from __future__ import annotations

import json
import re
from functools import cmp_to_key

import pytest
import semver
from installer_helpers import FIXTURES

from actors.errors import ErrorCode, PlugvisorError
from actors.installer import LEDMATRIX_CORE_VERSION
from actors.installer.compat import check_compatibility, compare_versions, parse_version, satisfies


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("1.0.0", "1.0.0", 0),
        ("1.0", "1.0.0", 0),
        ("v2.1.3", "2.1.3", 0),
        ("1.0.10", "1.0.9", 1),
        ("1.10.0", "1.9.9", 1),
        ("2.0.0", "10.0.0", -1),
        ("1.0.0-rc.1", "1.0.0", -1),
        ("1.0.0-alpha", "1.0.0-alpha.1", -1),
        ("1.0.0-alpha.2", "1.0.0-alpha.10", -1),
        ("1.0.0-2", "1.0.0-beta", -1),
        ("1.0.0+build.7", "1.0.0", 0),
    ],
)
def test_versions_compare_semantically(left, right, expected):
    assert compare_versions(left, right) == expected
    assert compare_versions(right, left) == -expected


@pytest.mark.parametrize("text", ["", "x.y.z", "1.0.0.0", "one", "1.-2"])
def test_malformed_versions_are_rejected(text):
    with pytest.raises(ValueError):
        parse_version(text)


@pytest.mark.parametrize(
    ("range_text", "inside", "outside"),
    [
        (">=2.0.0", ["2.0.0", "3.2.0"], ["1.9.9"]),
        ("> 2.0", ["2.1.0"], ["2.0.9"]),
        ("^2.1", ["2.1.0", "2.9.9"], ["2.0.9", "3.0.0"]),
        ("^0.2.3", ["0.2.3", "0.2.9"], ["0.3.0"]),
        ("^0.0.3", ["0.0.3"], ["0.0.4"]),
        ("~2.0", ["2.0.0", "2.0.9"], ["2.1.0"]),
        ("~3", ["3.0.0", "3.9.0"], ["4.0.0"]),
        ("2.0.0 - 3.1", ["2.0.0", "3.1.9"], ["3.2.0", "1.9.9"]),
        ("2.0.0 - 3.2.0", ["3.2.0"], ["3.2.1"]),
        (">=2, <3", ["2.5.0"], ["3.0.0"]),
        (">=2.0.0 <3.0.0", ["2.5.0"], ["3.0.0"]),
        ("^1 || ^3", ["1.4.0", "3.2.0"], ["2.0.0"]),
        ("3.x", ["3.0.0", "3.2.0"], ["4.0.0"]),
        ("3.2", ["3.2.0", "3.2.7"], ["3.3.0"]),
        ("=3.2.0", ["3.2.0"], ["3.2.1"]),
        ("<=3.1", ["3.1.5"], ["3.2.0"]),
        ("*", ["0.0.1", "99.0.0"], []),
    ],
)
def test_ranges(range_text, inside, outside):
    assert all(satisfies(v, range_text) for v in inside)
    assert not any(satisfies(v, range_text) for v in outside)


def test_every_real_fixture_manifest_that_parses_is_compatible_with_the_core():
    checked = []
    for folder in sorted(FIXTURES.iterdir()):
        manifest_file = folder / "manifest.json"
        if not manifest_file.is_file():
            continue
        try:
            manifest = json.loads(manifest_file.read_text())
        except json.JSONDecodeError:
            assert folder.name == "hello-world"  # published with a trailing comma
            continue
        check_compatibility(manifest, LEDMATRIX_CORE_VERSION)
        checked.append(folder.name)
    assert checked == ["baseball-scoreboard", "clock-simple", "football-scoreboard", "weather"]


@pytest.mark.parametrize(
    ("fields", "requirement"),
    [
        ({"compatible_versions": [">=4.0.0", "^1"]}, ">=4.0.0 or ^1"),
        ({"compatible_versions": "<3.0.0"}, "<3.0.0"),
        ({"min_ledmatrix_version": "3.3"}, ">=3.3"),
        ({"requires": {"min_ledmatrix_version": "4.0.0"}}, ">=4.0.0"),
        ({"max_ledmatrix_version": "3.1.9"}, "<=3.1.9"),
        ({"versions": [{"version": "1.0.0", "ledmatrix_min": "9.0.0"}]}, ">=9.0.0"),
        ({"versions": [{"version": "1.0.0", "ledmatrix_min_version": "3.2.1"}]}, ">=3.2.1"),
    ],
)
def test_incompatible_manifests(fields, requirement):
    manifest = {"id": "demo", "version": "1.0.0", **fields}
    with pytest.raises(PlugvisorError) as caught:
        check_compatibility(manifest, "3.2.0")
    assert caught.value.code is ErrorCode.PLUGIN_INCOMPATIBLE
    assert caught.value.message == (
        f"Plugin 'demo' 1.0.0 requires LEDMatrix {requirement}; this device provides 3.2.0"
    )


def test_floors_of_other_versions_do_not_apply():
    manifest = {
        "id": "demo",
        "version": "1.0.0",
        "versions": [{"version": "2.0.0", "ledmatrix_min": "9.0.0"}],
    }
    assert check_compatibility(manifest, "3.2.0") is None
    # The same entry is read once it describes the manifest's own version.
    with pytest.raises(PlugvisorError) as caught:
        check_compatibility({**manifest, "version": "2.0.0"}, "3.2.0")
    assert caught.value.code is ErrorCode.PLUGIN_INCOMPATIBLE
    assert caught.value.context["requires"] == ">=9.0.0"


@pytest.mark.parametrize(
    "fields",
    [
        {"compatible_versions": ["banana"]},
        {"compatible_versions": 7},
        {"min_ledmatrix_version": "x"},
    ],
)
def test_malformed_compatibility_fields_fail_the_install(fields):
    with pytest.raises(PlugvisorError) as caught:
        check_compatibility({"id": "demo", "version": "1.0.0", **fields}, "3.2.0")
    assert caught.value.code is ErrorCode.PLUGIN_INSTALL_FAILED


# -- real manifests ---------------------------------------------------------------------
# Every version in the fixtures is a full SemVer "X.Y.Z" and every range is ">=2.0.0":
# python-semver handles those alone. The forms kept by hand (compat.py says which) are
# checked below on real values: release tags, and the real floor under the range forms
# LEDMatrix's manifest schema admits (reference §8.6: ">=…", "^…", "~…", "a - b").


def real_manifest(name: str) -> dict:
    text = (FIXTURES / name / "manifest.json").read_text()
    # hello-world is published with a trailing comma before its closing brace.
    return json.loads(re.sub(r",\s*}\s*$", "}", text))


def registry_plugins() -> list[dict]:
    return json.loads((FIXTURES / "registry-plugins.json").read_text())["plugins"]


REAL_FLOOR = real_manifest("clock-simple")["versions"][0]["ledmatrix_min"]


def test_the_real_range_is_python_semvers_own_comparator():
    ranges = real_manifest("hello-world")["compatible_versions"]
    assert ranges == [">=2.0.0"]
    core = semver.Version.parse(LEDMATRIX_CORE_VERSION)
    assert core.match(ranges[0]) and not semver.Version.parse("1.9.9").match(ranges[0])
    assert satisfies(LEDMATRIX_CORE_VERSION, ranges[0])
    assert not satisfies("1.9.9", ranges[0])


def test_real_version_histories_sort_newest_first():
    histories = [[v["version"] for v in real_manifest("football-scoreboard")["versions"]]]
    for plugin in registry_plugins():
        history = [v["version"] for v in plugin["versions"]]
        assert plugin["latest_version"] == history[0], plugin["id"]
        histories.append(history)
    assert "1.0.10" in histories[0] and "1.0.9" in histories[0]  # numeric, not text order
    for history in histories:
        assert sorted(history, key=cmp_to_key(compare_versions), reverse=True) == history


def test_a_release_tag_with_a_leading_v_names_its_version():
    """Kept by hand: python-semver refuses "v1.0.0", the registry's release tags use it."""
    tagged = [
        (re.search(r"/tags/(v[^/]+)\.zip$", v["download_url"]).group(1), v["version"])
        for plugin in registry_plugins()
        for v in plugin["versions"]
        if "/tags/" in v.get("download_url", "")
    ]
    assert len(tagged) >= 10
    with pytest.raises(ValueError):
        semver.Version.parse(tagged[0][0])
    for tag, version in tagged:
        assert compare_versions(tag, version) == 0
        assert satisfies(LEDMATRIX_CORE_VERSION, f">={tag}") == satisfies(
            LEDMATRIX_CORE_VERSION, f">={version}"
        )


@pytest.mark.parametrize(
    ("form", "floor_inside", "core_inside"),
    [
        ("^{floor}", True, False),  # caret: same major, 2.x
        ("~{floor}", True, False),  # tilde: same minor, 2.0.x
        ("{floor} - 3.2.0", True, True),  # hyphen: inclusive at both ends
        ("{floor} - 3.1", True, False),  # hyphen to a partial: below 3.2.0
        ("2.x", True, False),  # wildcard
        (">=2", True, True),  # a partial version after an operator
        ("^1 || ^3", False, True),  # alternatives
        (">={floor}, <4", True, True),  # a conjunction, comma separated
    ],
)
def test_each_hand_kept_range_form_on_the_real_floor(form, floor_inside, core_inside):
    range_text = form.format(floor=REAL_FLOOR)
    with pytest.raises(ValueError):  # python-semver alone cannot read it
        semver.Version.parse(LEDMATRIX_CORE_VERSION).match(range_text)
    assert satisfies(REAL_FLOOR, range_text) is floor_inside
    assert satisfies(LEDMATRIX_CORE_VERSION, range_text) is core_inside
