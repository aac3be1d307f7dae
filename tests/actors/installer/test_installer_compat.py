"""The version comparator and LEDMatrix-style ranges, and the manifest compatibility gate."""

from __future__ import annotations

import json

import pytest
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
    check_compatibility(manifest, "3.2.0")


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
