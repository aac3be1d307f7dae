"""The journal at start: a damaged one is set aside and reported, a torn tail is no damage."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from actors.damage import Damage
from actors.queue.journal import Journal
from actors.queue.records import Operation


def line(op: Operation) -> bytes:
    return orjson.dumps(op.to_journal()) + b"\n"


def journal(tmp_path: Path) -> tuple[Journal, Damage]:
    damage = Damage(tmp_path)
    (tmp_path / "journal").mkdir()
    return Journal(tmp_path / "journal", damage=damage), damage


@pytest.mark.parametrize("damage_kind", ["folder", "garbage"])
async def test_a_journal_the_queue_cannot_start_from_is_set_aside(
    tmp_path: Path, damage_kind: str
) -> None:
    store, damage = journal(tmp_path)
    if damage_kind == "folder":
        store.path.mkdir()
    else:
        store.path.write_bytes(b"\x00\xff not json\n{[\n" * 20)
    assert await store.replay() == []
    [aside] = store.path.parent.glob("operations.jsonl.damaged-*")
    assert aside.is_dir() == (damage_kind == "folder")
    [reason] = damage.reasons()
    assert reason.message.startswith("journal/operations.jsonl was damaged")
    assert "pending or running when the process stopped" in (reason.detail or "")
    op = Operation("install", "clock", {}, "clock")
    await store.append([op])  # the queue goes on with a fresh journal
    assert [o.operation_id for o in await store.replay()] == [op.operation_id]


async def test_a_torn_tail_or_a_bad_line_beside_records_is_no_damage(tmp_path: Path) -> None:
    store, damage = journal(tmp_path)
    first, second = Operation("install", "a", {}, "a"), Operation("install", "b", {}, "b")
    store.path.write_bytes(line(first) + b"{torn\n" + line(second) + line(first)[:20])
    assert [o.operation_id for o in await store.replay()] == [
        first.operation_id,
        second.operation_id,
    ]
    assert damage.reasons() == [] and store.path.is_file()


async def test_only_a_torn_first_append_is_no_damage_either(tmp_path: Path) -> None:
    store, damage = journal(tmp_path)
    store.path.write_bytes(line(Operation("install", "a", {}, "a"))[:30])
    assert await store.replay() == []
    assert damage.reasons() == [] and store.path.is_file()
