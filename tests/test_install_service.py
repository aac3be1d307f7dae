"""``python run.py install-service``, run as a process: the unit is the one template with this
device's user, group, data folder and command line filled in, written whole, then enabled."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.service import TEMPLATE, UnitError, UnitSpec, render_unit

REPO = Path(__file__).resolve().parent.parent
FILLED = ("Documentation=", "User=", "Group=", "WorkingDirectory=", "ExecStart=", "StateDirectory")


def install_service(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path if path is not None else os.environ["PATH"]}
    return subprocess.run(
        [sys.executable, str(REPO / "run.py"), "install-service", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def fake_systemctl(folder: Path) -> Path:
    """A ``systemctl`` that only logs its arguments (the real one would change this machine)."""
    folder.mkdir()
    log = folder / "calls.log"
    script = folder / "systemctl"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    script.chmod(0o755)
    return log


def test_the_unit_is_the_template_with_this_device_filled_in(tmp_path: Path) -> None:
    done = install_service(
        "--user", "pi", "--data-dir", "/var/lib/plugvisor", "--unit-dir", str(tmp_path),
        "--install-dir", "/opt/plugvisor", "--python", "/opt/plugvisor/.venv/bin/python",
        "--no-enable",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"wrote {tmp_path / 'plugvisor.service'}\n"
    unit = (tmp_path / "plugvisor.service").read_text()
    assert (tmp_path / "plugvisor.service").stat().st_mode & 0o777 == 0o644
    lines = unit.splitlines()
    for expected in (
        "Type=notify",
        "WatchdogSec=30s",
        "User=pi",
        "Group=pi",
        "WorkingDirectory=/opt/plugvisor",
        "ExecStart=/opt/plugvisor/.venv/bin/python /opt/plugvisor/run.py --host 127.0.0.1 "
        "--port 5050 --data-dir /var/lib/plugvisor --log-format json",
        "StateDirectory=plugvisor",
        "StateDirectoryMode=0750",
        "WantedBy=multi-user.target",
    ):
        assert expected in lines, expected
    # Every other line is the template's own: one source for the unit.
    template = TEMPLATE.read_text().splitlines()
    kept = [line for line in template if not line.startswith(FILLED)]
    assert [line for line in lines if not line.startswith(FILLED)] == kept
    assert list(tmp_path.iterdir()) == [tmp_path / "plugvisor.service"]  # no temp file left


def test_a_data_dir_outside_var_lib_has_no_state_directory(tmp_path: Path) -> None:
    done = install_service(
        "--user", "pi", "--group", "users", "--data-dir", "/home/pi/plugvisor-data",
        "--host", "0.0.0.0", "--port", "8080", "--unit-dir", str(tmp_path), "--no-enable",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    unit = (tmp_path / "plugvisor.service").read_text()
    assert "StateDirectory" not in unit
    assert "# /home/pi/plugvisor-data is not under /var/lib: create it, owned by pi." in unit
    assert "Group=users\n" in unit
    assert "--host 0.0.0.0 --port 8080 --data-dir /home/pi/plugvisor-data " in unit


def test_without_systemctl_it_says_how_to_enable(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    done = install_service(
        "--user", "pi", "--data-dir", "/var/lib/plugvisor", "--unit-dir", str(tmp_path / "units"),
        path=str(empty),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "systemctl not found: the unit is written but not enabled" in done.stdout
    assert "sudo systemctl daemon-reload && sudo systemctl enable --now plugvisor.service" in (
        done.stdout
    )
    assert (tmp_path / "units" / "plugvisor.service").exists()


@pytest.mark.parametrize(("now", "enable"), [(False, "enable"), (True, "enable --now")])
def test_systemctl_reloads_then_enables(tmp_path: Path, now: bool, enable: str) -> None:
    log = fake_systemctl(tmp_path / "bin")
    extra = ["--now"] if now else []
    done = install_service(
        "--user", "pi", "--data-dir", "/var/lib/plugvisor", "--unit-dir", str(tmp_path / "u"),
        *extra, path=f"{tmp_path / 'bin'}:/usr/bin:/bin",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert log.read_text() == f"daemon-reload\n{enable} plugvisor.service\n"


def test_dry_run_prints_the_unit_and_writes_nothing(tmp_path: Path) -> None:
    done = install_service(
        "--user", "pi", "--data-dir", "/var/lib/plugvisor", "--unit-dir", str(tmp_path / "u"),
        "--dry-run",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "User=pi\n" in done.stdout and "Type=notify\n" in done.stdout
    assert not (tmp_path / "u").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "pi", "--data-dir", "var/lib/x"], "--data-dir must be an absolute path"),
        (["--user", "pi", "--data-dir", "/var/lib/a b"], "--data-dir must be an absolute path"),
        (["--user", "pi", "--data-dir", "/var/lib/%h"], "--data-dir must be an absolute path"),
        (["--user", "pi", "--data-dir", "/var/../etc"], "--data-dir must be an absolute path"),
        (["--user", "p i", "--data-dir", "/var/lib/x"], "--user must be a system user name"),
        (["--user", "pi\nUser=root", "--data-dir", "/x"], "--user must be a system user name"),
        (["--user", "pi", "--data-dir", "/x", "--port", "0"], "--port must be between"),
    ],
)
def test_a_value_that_cannot_go_into_a_unit_is_refused(
    tmp_path: Path, args: list[str], message: str
) -> None:
    done = install_service(*args, "--unit-dir", str(tmp_path / "u"), "--no-enable")
    assert done.returncode == 2
    assert message in done.stderr
    assert not (tmp_path / "u").exists()


def test_a_template_without_a_line_to_fill_is_an_error() -> None:
    spec = UnitSpec("pi", "pi", *(Path(p) for p in ("/var/lib/p", "/opt/p", "/usr/bin/python3")))
    template = TEMPLATE.read_text()
    assert "User=pi" in render_unit(template, spec)
    broken = "\n".join(line for line in template.splitlines() if not line.startswith("User="))
    with pytest.raises(UnitError, match="no User line"):
        render_unit(broken, spec)
