"""The command line of run.py: flags, PLUGVISOR_* environment fallbacks, and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from run import parse_args


def test_defaults_are_the_contract_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HOST", "PORT", "DATA_DIR", "REGISTRY_URL", "LOG_FORMAT", "QUEUE_CONCURRENCY"):
        monkeypatch.delenv(f"PLUGVISOR_{name}", raising=False)
    settings = parse_args([])
    assert (settings.host, settings.port, settings.data_dir) == ("127.0.0.1", 5050, Path("data"))
    assert settings.registry_url.endswith("ledmatrix-plugins/main/plugins.json")
    assert settings.queue_concurrency == 1 and settings.operation_deadline_s == 600.0


def test_environment_is_read_and_flags_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUGVISOR_PORT", "6060")
    monkeypatch.setenv("PLUGVISOR_DATA_DIR", "/var/lib/plugvisor")
    monkeypatch.setenv("PLUGVISOR_QUEUE_CONCURRENCY", "2")
    monkeypatch.setenv("PLUGVISOR_PIP_NO_INDEX", "1")
    monkeypatch.setenv("PLUGVISOR_PIP_FIND_LINKS", "/opt/wheels")
    settings = parse_args(["--port", "7070", "--log-format", "json"])
    assert settings.port == 7070 and settings.log_format == "json"
    assert settings.data_dir == Path("/var/lib/plugvisor")
    assert settings.queue_concurrency == 2
    assert settings.pip.no_index is True and settings.pip.find_links == ("/opt/wheels",)


@pytest.mark.parametrize(
    "argv",
    [
        ["--port", "0"],
        ["--port", "abc"],
        ["--queue-concurrency", "0"],
        ["--log-format", "xml"],
        ["--header-timeout", "0"],
        ["--body-timeout", "-1"],
        ["--keepalive-timeout", "0"],
        ["--max-connections", "-1"],
    ],
)
def test_bad_values_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        parse_args(argv)
    assert info.value.code == 2


def test_bad_environment_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUGVISOR_PORT", "not-a-port")
    with pytest.raises(SystemExit):
        parse_args([])


def test_connection_limits_come_from_flags_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HEADER_TIMEOUT", "BODY_TIMEOUT", "KEEPALIVE_TIMEOUT", "MAX_CONNECTIONS"):
        monkeypatch.delenv(f"PLUGVISOR_{name}", raising=False)
    defaults = parse_args([])
    assert (defaults.header_timeout_s, defaults.body_timeout_s) == (10.0, 30.0)
    assert (defaults.keepalive_timeout_s, defaults.max_connections) == (15.0, 0)
    monkeypatch.setenv("PLUGVISOR_HEADER_TIMEOUT", "3.5")
    monkeypatch.setenv("PLUGVISOR_MAX_CONNECTIONS", "64")
    settings = parse_args(["--body-timeout", "12", "--keepalive-timeout", "7"])
    assert (settings.header_timeout_s, settings.body_timeout_s) == (3.5, 12.0)
    assert (settings.keepalive_timeout_s, settings.max_connections) == (7.0, 64)


def test_the_reconcile_interval_comes_from_its_flag_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PLUGVISOR_RECONCILE_INTERVAL", raising=False)
    assert parse_args([]).reconcile_interval_s == 900.0
    monkeypatch.setenv("PLUGVISOR_RECONCILE_INTERVAL", "0")
    assert parse_args([]).reconcile_interval_s == 0.0
    assert parse_args(["--reconcile-interval", "60"]).reconcile_interval_s == 60.0
    with pytest.raises(SystemExit):
        parse_args(["--reconcile-interval", "-1"])


def test_the_health_check_interval_comes_from_its_flag_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PLUGVISOR_HEALTH_CHECK_INTERVAL", raising=False)
    assert parse_args([]).health.check_interval_s == 5.0
    monkeypatch.setenv("PLUGVISOR_HEALTH_CHECK_INTERVAL", "0.25")
    assert parse_args([]).health.check_interval_s == 0.25
    assert parse_args(["--health-check-interval", "2"]).health.check_interval_s == 2.0
    with pytest.raises(SystemExit):
        parse_args(["--health-check-interval", "0"])
