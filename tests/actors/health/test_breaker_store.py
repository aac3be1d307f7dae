"""``health/breakers.json``: a round trip keeps every counter; a damaged file is set aside."""

from __future__ import annotations

from pathlib import Path

from actors.health.breaker import Breaker
from actors.health.store import BreakerFile

T0 = 1_800_000_000.0


def test_saved_breakers_load_back_exactly(tmp_path: Path) -> None:
    store = BreakerFile(tmp_path / "health")
    assert store.load() == ({}, None)  # first start: nothing yet
    breaker = Breaker()
    for second in range(3):
        breaker.report(False, "boom", T0 + second, 60.0)
    store.save({"clock": breaker})
    loaded, problem = BreakerFile(tmp_path / "health").load()
    assert problem is None
    assert loaded["clock"].to_record() == breaker.to_record()
    assert loaded["clock"].state(T0 + 10, 60.0) == "open"
    assert [p.name for p in (tmp_path / "health").iterdir()] == ["breakers.json"]  # no temps


def test_a_damaged_file_is_set_aside_and_the_breakers_start_afresh(tmp_path: Path) -> None:
    folder = tmp_path / "health"
    folder.mkdir()
    (folder / "breakers.json").write_text('{"version": 1, "plugins": {"clock": {"circuit": "x"}}}')
    loaded, problem = BreakerFile(folder).load()
    assert loaded == {}
    assert problem is not None and problem.startswith("not a breaker record; kept as ")
    [aside] = list(folder.iterdir())
    assert aside.name.startswith("breakers.json.damaged-")
    assert "circuit" in aside.read_text()
