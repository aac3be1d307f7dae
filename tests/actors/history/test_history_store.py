"""The history files: append, newest-first queries, paging, rotation, caps, damaged lines."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from actors.damage import Damage
from actors.errors import ErrorCode, PlugvisorError
from actors.fsio import Syncer
from actors.history.query import HistoryQuery
from actors.history.reader import FIRST_BLOCK
from actors.history.records import build_record, encode_record
from actors.history.store import HistoryLimits, HistoryStore


def record(n: int, **fields: Any) -> dict[str, Any]:
    values = {
        "operation_id": f"op-{n:06d}",
        "operation_type": "install",
        "plugin_id": f"plugin-{n % 3}",
        "status": "completed" if n % 2 else "failed",
        "timestamp": f"2026-11-26T10:{n // 60 % 60:02d}:{n % 60:02d}.000Z",
        "details": {"n": n},
    } | fields
    return build_record(**values)


def fill(store: HistoryStore, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        store.append([encode_record(record(n))])


def ids(records: list[dict[str, Any]]) -> list[int]:
    return [int(r["operation_id"][3:]) for r in records]


def make_store(folder: Path, **limits: Any) -> HistoryStore:
    store = HistoryStore(folder, HistoryLimits(**limits))
    store.open()
    return store


def query(store: HistoryStore, **params: Any) -> Any:
    return store.query(HistoryQuery.parse(**params))


def test_records_come_back_newest_first_exactly_as_written(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    fill(store, 10)
    page = query(store, limit=3)
    assert ids(page.records) == [9, 8, 7]
    assert page.records[0] == record(9)
    assert page.next_before == "op-000007"
    assert query(store).next_before is None
    assert (tmp_path / "operations-0001.jsonl").read_bytes() == b"".join(
        encode_record(record(n)) for n in range(10)
    )


def test_filters_combine(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    fill(store, 30)
    store.append([encode_record(record(30, operation_type="uninstall", plugin_id=None))])
    assert ids(query(store, plugin_id="plugin-1").records) == list(range(28, 0, -3))
    assert ids(query(store, plugin_id="plugin-1", status="failed").records) == [28, 22, 16, 10, 4]
    assert ids(query(store, operation_type="uninstall").records) == [30]
    assert query(store, plugin_id="absent").records == []
    # a filter value appearing only inside details does not match
    store.append([encode_record(record(31, details={"plugin_id": "ghost"}))])
    assert query(store, plugin_id="ghost").records == []


def test_paging_by_id_and_by_time_across_a_rotation(tmp_path: Path) -> None:
    store = make_store(tmp_path, max_file_bytes=2000)
    fill(store, 100)
    assert len(store.segments) > 5
    seen: list[int] = []
    before = None
    for _ in range(20):
        page = query(store, limit=7, before=before)
        seen += ids(page.records)
        before = page.next_before
        if before is None:
            break
    assert seen == list(range(99, -1, -1))
    # a cursor the store has not handed out (no cache) is found by searching backwards
    fresh = make_store(tmp_path, max_file_bytes=2000)
    assert ids(query(fresh, limit=4, before="op-000050").records) == [49, 48, 47, 46]
    assert ids(query(fresh, limit=3, before="op-000050", plugin_id="plugin-0").records) == [
        48,
        45,
        42,
    ]
    # time cursor: strictly older than the given time
    assert ids(query(fresh, limit=3, before="2026-11-26T10:01:00.000Z").records) == [59, 58, 57]
    assert ids(query(fresh, limit=2, before="2026-11-26T10:00:01Z").records) == [0]
    assert query(fresh, before="2026-11-26").records == []
    assert query(fresh, before="op-unknown").records == []


def test_find_returns_the_record(tmp_path: Path) -> None:
    store = make_store(tmp_path, max_file_bytes=2000)
    fill(store, 40)
    assert store.find("op-000003") == record(3)
    assert store.find("op-000039") == record(39)
    assert store.find("op-000040") is None


def test_torn_last_line_is_skipped_then_repaired_by_the_next_append(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    fill(store, 5)
    store.close()
    path = tmp_path / "operations-0001.jsonl"
    intact = path.read_bytes()
    with path.open("ab") as handle:  # a crash in the middle of a write
        handle.write(encode_record(record(5))[:40])
    reopened = make_store(tmp_path)
    assert ids(query(reopened).records) == [4, 3, 2, 1, 0]
    with capture_logs() as logs:
        fill(reopened, 1, start=6)
    assert path.read_bytes() == intact + encode_record(record(6))
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == [
        "history_torn_tail_repaired"
    ]
    assert ids(query(reopened).records) == [6, 4, 3, 2, 1, 0]


def test_corrupt_line_in_the_middle_is_skipped_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "operations-0001.jsonl"
    lines = [encode_record(record(n)) for n in range(4)]
    path.write_bytes(lines[0] + lines[1] + b'{"operation_id": garbage\n' + b"[1, 2]\n" + lines[2])
    store = make_store(tmp_path)
    with capture_logs() as logs:
        assert ids(query(store).records) == [2, 1, 0]
    warnings = [e for e in logs if e["event"] == "history_line_corrupt"]
    assert [w["offset"] for w in warnings] == [
        len(lines[0] + lines[1]) + 25,
        len(lines[0] + lines[1]),
    ]
    store.append([lines[3]])
    assert ids(query(store, limit=2).records) == [3, 2]


def test_total_cap_deletes_the_oldest_files(tmp_path: Path) -> None:
    store = make_store(tmp_path, max_file_bytes=1000, max_total_bytes=3000)
    fill(store, 60)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) <= 4
    assert store.total_bytes <= 3000 + 1000
    assert names == [s.path.name for s in store.segments]
    assert names[0] != "operations-0001.jsonl"
    kept = ids(query(store, limit=1000).records)
    assert kept == list(range(59, 59 - len(kept), -1))  # the newest, contiguous
    assert query(store, before="op-000000").records == []  # pruned: nothing older to show


def test_file_count_cap(tmp_path: Path) -> None:
    store = make_store(tmp_path, max_file_bytes=500, max_files=2)
    fill(store, 30)
    assert [s.number for s in store.segments] == sorted(s.number for s in store.segments)
    assert len(list(tmp_path.iterdir())) == 2


def test_a_query_reads_a_bounded_amount_whatever_the_history_size(tmp_path: Path) -> None:
    store = make_store(tmp_path, max_file_bytes=256 * 1024)
    batch = [encode_record(record(n)) for n in range(20_000)]
    for i in range(0, len(batch), 1000):
        store.append(batch[i : i + 1000])
    assert len(store.segments) > 10
    page = query(store, limit=50)
    assert page.scanned_bytes <= FIRST_BLOCK
    page = query(store, limit=50, plugin_id="plugin-2")
    assert ids(page.records)[:2] == [19_997, 19_994]
    assert page.scanned_bytes <= FIRST_BLOCK
    deeper = query(store, limit=50, plugin_id="plugin-2", before=page.next_before)  # cached
    assert deeper.scanned_bytes <= 3 * FIRST_BLOCK
    assert ids(deeper.records)[0] == ids(page.records)[-1] - 3


def test_batches_cost_one_fsync_and_a_failed_batch_leaves_nothing(tmp_path: Path) -> None:
    class FailingSyncer(Syncer):
        fail = False

        def fsync(self, fd: int) -> None:
            if self.fail:
                raise OSError(28, "No space left on device")
            super().fsync(fd)

    syncer = FailingSyncer()
    store = HistoryStore(tmp_path, HistoryLimits(), syncer)
    store.open()
    store.append([encode_record(record(n)) for n in range(3)])
    assert syncer.count == 2  # the new file's folder, then the batch
    store.append([encode_record(record(n)) for n in range(3, 10)])
    assert syncer.count == 3
    syncer.fail = True
    with pytest.raises(OSError):
        store.append([encode_record(record(10))])
    syncer.fail = False
    assert os.path.getsize(tmp_path / "operations-0001.jsonl") == store.total_bytes
    assert ids(query(store, limit=1).records) == [9]


def test_start_up_reads_no_record_past_each_file_s_first(tmp_path: Path) -> None:
    first = encode_record(record(0))
    (tmp_path / "operations-0007.jsonl").write_bytes(first + b"not json at all\n" * 1000)
    (tmp_path / "operations-0012.jsonl").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("ignored")
    with capture_logs() as logs:
        store = make_store(tmp_path)
    assert [s.number for s in store.segments] == [7, 12]
    assert store.total_bytes == len(first) + 16_000
    assert [e["event"] for e in logs] == ["history_opened"]
    store.append([encode_record(record(1))])
    assert (tmp_path / "operations-0012.jsonl").read_bytes() == encode_record(record(1))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "5"}, "limit"),
        ({"limit": True}, "limit"),
        ({"plugin_id": "../x"}, "plugin_id"),
        ({"operation_type": "explode"}, "operation_type"),
        ({"status": "pending"}, "status"),
        ({"before": "2026-13-45T99:00:00Z"}, "before"),
        ({"before": "has space"}, "before"),
    ],
)
def test_query_parameters_are_guarded(params: dict[str, Any], field: str) -> None:
    with pytest.raises(PlugvisorError) as caught:
        HistoryQuery.parse(**params)
    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert caught.value.context["field"] == field


def test_a_segment_that_is_no_history_is_set_aside_never_fatal(tmp_path: Path) -> None:
    good = encode_record(record(1))
    (tmp_path / "operations-0001.jsonl").write_bytes(good)
    (tmp_path / "operations-0002.jsonl").write_bytes(b"\x00\xffgarbage\n" * 10)
    (tmp_path / "operations-0003.jsonl").mkdir()
    (tmp_path / "operations-0004.jsonl").write_bytes(good[:10])  # a torn first append: repaired
    damage = Damage(tmp_path.parent)
    store = HistoryStore(tmp_path, HistoryLimits(), damage=damage)
    store.open()
    assert [s.number for s in store.segments] == [1, 4]
    [garbage] = tmp_path.glob("operations-0002.jsonl.damaged-*")
    [folder] = tmp_path.glob("operations-0003.jsonl.damaged-*")
    assert garbage.read_bytes().startswith(b"\x00\xff") and folder.is_dir()
    details = sorted(reason.detail or "" for reason in damage.reasons())
    assert details[0].startswith(f"{tmp_path.name}/operations-0002.jsonl does not start with")
    assert details[1].startswith(f"{tmp_path.name}/operations-0003.jsonl is a folder")
    store.append([encode_record(record(2))])
    assert ids(query(store, limit=10).records) == [2, 1]
