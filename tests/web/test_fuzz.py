"""Schemathesis against run.py, from the served OpenAPI document: a bounded run in the suite.

Every operation gets its documented examples, then ``EXAMPLES`` positive and ``EXAMPLES``
negative generated cases (the same ones each run: a fixed seed). It passes only if no answer
is a server fault, every answer matches its documented status, content type, headers and
schema, schema-violating input is refused, nothing is written outside the data dir, and the
server is healthy afterwards. bench/fuzz.py runs longer.
"""

from __future__ import annotations

from pathlib import Path

from tests.web.fuzz_run import fuzz, healthy, install_example_plugin, snapshot, start_server

EXAMPLES = 20


def test_the_fuzzer_finds_no_fault_and_the_server_stays_healthy(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    before = snapshot(tmp_path)
    try:
        install_example_plugin(server)
        report = fuzz(server, EXAMPLES)
        assert report.failures == []
        assert report.operations >= 30
        assert report.requests >= report.operations * EXAMPLES
        assert healthy(server) == (200, 200, "ok")
        assert snapshot(tmp_path) == before
        assert list((tmp_path / "cwd").iterdir()) == []
        assert list((tmp_path / "home").iterdir()) == []
        assert list((tmp_path / "tmp").iterdir()) == []
    finally:
        assert server.stop() == 0
