"""Setting damaged files aside: renamed beside themselves, never deleted, reported, unique."""

from __future__ import annotations

import re
from pathlib import Path

from actors.damage import Damage, set_aside, unusable_file, unusable_folder
from actors.paths import DataPaths

STAMP = r"\d{8}T\d{6}Z"


def test_a_file_or_folder_is_renamed_beside_itself(tmp_path: Path) -> None:
    folder = tmp_path / "f.json"
    folder.mkdir()
    (folder / "inside").write_text("kept")
    aside = set_aside(folder)
    assert aside is not None and aside.parent == tmp_path
    assert re.fullmatch(rf"f\.json\.damaged-{STAMP}", aside.name)
    assert (aside / "inside").read_text() == "kept" and not folder.exists()
    assert set_aside(folder) is None  # nothing left to set aside


def test_set_asides_within_one_second_never_overwrite_each_other(tmp_path: Path) -> None:
    target = tmp_path / "operations.jsonl"
    names = []
    for n in range(3):
        target.write_text(str(n))
        aside = set_aside(target, "lost")
        assert aside is not None
        names.append(aside.name)
    assert len(set(names)) == 3
    assert sorted((tmp_path / name).read_text() for name in names) == ["0", "1", "2"]
    assert all(re.fullmatch(rf"operations\.jsonl\.lost-{STAMP}(-\d+)?", n) for n in names)


def test_what_makes_a_file_or_folder_unusable(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_bytes(b"x")
    assert unusable_file(tmp_path / "missing") is None
    assert unusable_file(tmp_path / "file") is None
    assert unusable_file(tmp_path / "dir") == "is a folder where a file should be"
    assert unusable_folder(tmp_path / "missing") is None
    assert unusable_folder(tmp_path / "dir") is None
    assert unusable_folder(tmp_path / "file") == "is a file where a folder should be"


def test_the_reason_says_what_why_where_and_what_was_lost(tmp_path: Path) -> None:
    damage = Damage(tmp_path)
    (tmp_path / "journal").mkdir()
    target = tmp_path / "journal" / "operations.jsonl"
    target.mkdir()
    aside = damage.set_aside(target, why="is a folder where a file should be", lost="the queue")
    assert aside is not None
    [reason] = damage.reasons()
    assert reason.code == "damaged_file_set_aside" and reason.severity == "degraded"
    assert reason.message == (
        "journal/operations.jsonl was damaged and has been set aside; the service runs without it"
    )
    assert reason.detail == (
        "journal/operations.jsonl is a folder where a file should be; "
        f"it was renamed to {aside.name}. Lost: the queue"
    )
    assert (
        reason.remediation
        == f"Look into journal/{aside.name} if you need what it held, then delete it"
    )
    assert str(tmp_path) not in repr(reason)


def test_ensure_sets_aside_a_file_standing_where_a_folder_should_be(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "data")
    paths.root.mkdir()
    (paths.root / "journal").write_bytes(b"not a folder")
    damage = Damage(paths.root)
    paths.ensure(damage)
    assert paths.journal_dir.is_dir()
    [aside] = paths.root.glob("journal.damaged-*")
    assert aside.read_bytes() == b"not a folder"
    [reason] = damage.reasons()
    assert reason.message.startswith("journal was damaged")
    assert "operations in flight can no longer be marked interrupted" in (reason.detail or "")
    paths.ensure(damage)  # nothing more to do
    assert len(damage.reasons()) == 1
