"""A 30-second soak of the real server (bench/soak.py, after 10 s of warm-up): mixed reads,
toggles, config saves, installs and uninstalls, WebSocket subscribers, and four actors crashed
through the fault switch; nothing acknowledged is lost, every request is answered in the
envelope, memory stays flat and health comes back to ok."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.supervisor_process import REPO_ROOT


@pytest.mark.timeout(330)
def test_thirty_seconds_of_mixed_load_and_crashes() -> None:
    command = [
        sys.executable,
        str(REPO_ROOT / "bench" / "soak.py"),
        *("--duration", "30", "--warmup", "10", "--crash-every", "6", "--max-crashes", "4"),
        *("--readers", "2", "--subscribers", "2"),
    ]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    figures: dict[str, str] = {}
    for line in done.stdout.splitlines():
        name, _, value = line.partition("=")
        figures.setdefault(name, value)  # failure= may repeat; the first says enough
    report = done.stdout + done.stderr[-3000:]
    assert done.returncode == 0 and figures["failures"] == "0", report
    assert figures["unanswered"] == figures["not_enveloped"] == "0", report
    assert figures["lost_acked_writes"] == "0", report
    assert int(figures["acked_toggles"]) > 0 and int(figures["acked_config_saves"]) > 0, report
    assert "install_completed" in figures["operations"], report
    assert "uninstall_completed" in figures["operations"], report
    assert int(figures["ws_events"]) > 0, report
    assert figures["crashes_sent"] == "4" and int(figures["restarts_total"]) >= 4, report
    # the crashes went, in turn, to the actors that hold acknowledged writes
    restarted = dict(pair.split(":") for pair in figures["restarts_seen"].split(","))
    assert {"config_store", "state", "queue", "history"} <= restarted.keys(), report
    assert figures["health_after"] == "ok", report
    assert figures["server_alive"] == "True" and figures["server_exit_code"] == "0", report
