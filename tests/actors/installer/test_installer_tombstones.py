"""plugins/.tombstones.json at start: a damaged one is set aside and reported, never fatal."""

from __future__ import annotations

import pytest

from actors.damage import Damage
from actors.installer.tombstones import TOMBSTONES_FILE, Tombstones
from actors.paths import DataPaths


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (None, "is a folder where a file should be"),
        (b"\x00\xff not json", "is not valid JSON"),
        (b'{"uninstalled": ["clock"]}', "does not hold an 'uninstalled' object"),
    ],
)
def test_damaged_tombstones_are_set_aside_at_reload(
    data_paths: DataPaths, content: bytes | None, why: str
) -> None:
    path = data_paths.plugins_dir / TOMBSTONES_FILE
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    damage = Damage(data_paths.root)
    tombstones = Tombstones(data_paths.plugins_dir, damage=damage)
    tombstones.reload()  # what recovery does at start: the damage is found now, not later
    [aside] = data_paths.plugins_dir.glob(f"{TOMBSTONES_FILE}.damaged-*")
    [reason] = damage.reasons()
    assert reason.detail == (
        f"plugins/{TOMBSTONES_FILE} {why}; it was renamed to {aside.name}. Lost: the list of "
        "plugins you uninstalled: one still named in the configuration may be offered for "
        "reinstallation by reconciliation"
    )
    assert not tombstones.contains("clock")
    tombstones.set("clock", True)  # and they work again
    assert Tombstones(data_paths.plugins_dir).contains("clock")
    assert len(damage.reasons()) == 1


def test_good_or_missing_tombstones_are_no_damage(data_paths: DataPaths) -> None:
    damage = Damage(data_paths.root)
    tombstones = Tombstones(data_paths.plugins_dir, damage=damage)
    tombstones.reload()
    tombstones.set("clock", True)
    again = Tombstones(data_paths.plugins_dir, damage=damage)
    again.reload()
    assert again.contains("clock") and damage.reasons() == []
