"""``python run.py install-service``: the systemd unit for one user and data directory, made
from the one template (config/systemd/plugvisor.service), written, then enabled with systemctl.
"""

from __future__ import annotations

import argparse
import grp
import os
import pwd
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = REPO_ROOT / "config" / "systemd" / "plugvisor.service"
UNIT_NAME = "plugvisor.service"
SYSTEM_UNIT_DIR = Path("/etc/systemd/system")
STATE_ROOT = PurePosixPath("/var/lib")
USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
# Characters a value may hold in a unit line without quoting: no spaces, no specifiers (%).
PLAIN_VALUE = re.compile(r"^[A-Za-z0-9/._:+@-]+$")


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """What differs from one device to the next."""

    user: str
    group: str
    data_dir: PurePosixPath
    install_dir: PurePosixPath
    python: PurePosixPath
    host: str = "127.0.0.1"
    port: int = 5050


class UnitError(ValueError):
    """A value that cannot go into the unit, or a template that lost a line we fill in."""


def render_unit(template: str, spec: UnitSpec) -> str:
    """The template with this device's user, group, folders and command line filled in."""
    state_dir = _state_directory(spec.data_dir)
    exec_start = " ".join(
        [
            str(spec.python),
            str(spec.install_dir / "run.py"),
            f"--host {spec.host}",
            f"--port {spec.port}",
            f"--data-dir {spec.data_dir}",
            "--log-format json",
        ]
    )
    values = {
        "Documentation": f"file://{spec.install_dir / 'README.md'}",
        "User": spec.user,
        "Group": spec.group,
        "WorkingDirectory": str(spec.install_dir),
        "ExecStart": exec_start,
        "StateDirectory": state_dir,
        "StateDirectoryMode": "0750" if state_dir else None,
    }
    lines, filled = [], set()
    for line in template.splitlines():
        key = line.partition("=")[0]
        if key in values and not line.startswith("#"):
            filled.add(key)
            if values[key] is None:
                continue  # a setting this device does without
            line = f"{key}={values[key]}"
        elif line.startswith("# /var/lib/plugvisor"):
            line = (
                f"# {spec.data_dir}, created and owned by the service user."
                if state_dir
                else f"# {spec.data_dir} is not under /var/lib: create it, owned by {spec.user}."
            )
        lines.append(line)
    missing = sorted(set(values) - filled)
    if missing:
        raise UnitError(f"the unit template has no {', '.join(missing)} line to fill in")
    return "\n".join(lines) + "\n"


def _state_directory(data_dir: PurePosixPath) -> str | None:
    """``/var/lib/plugvisor`` -> ``plugvisor`` (systemd creates it, owned by the user)."""
    if data_dir.is_relative_to(STATE_ROOT) and data_dir != STATE_ROOT:
        return str(data_dir.relative_to(STATE_ROOT))
    return None


def _checked_path(value: str, what: str) -> PurePosixPath:
    path = PurePosixPath(value)
    if not path.is_absolute() or ".." in path.parts or not PLAIN_VALUE.match(value):
        raise UnitError(
            f"{what} must be an absolute path of letters, digits and / . _ - (got {value!r})"
        )
    return path


def _group_of(user: str) -> str:
    try:
        return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name
    except KeyError:
        return user  # not on this machine (yet): the usual group of the same name


def spec_from_args(args: argparse.Namespace) -> UnitSpec:
    if not USER_NAME.match(args.user):
        raise UnitError(f"--user must be a system user name (got {args.user!r})")
    group = args.group or _group_of(args.user)
    if not USER_NAME.match(group):
        raise UnitError(f"--group must be a group name (got {group!r})")
    if not PLAIN_VALUE.match(args.host):
        raise UnitError(f"--host must be an address or a host name (got {args.host!r})")
    if not 0 < args.port < 65536:
        raise UnitError("--port must be between 1 and 65535")
    return UnitSpec(
        user=args.user,
        group=group,
        data_dir=_checked_path(args.data_dir, "--data-dir"),
        install_dir=_checked_path(args.install_dir, "--install-dir"),
        python=_checked_path(args.python, "--python"),
        host=args.host,
        port=args.port,
    )


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="run.py install-service",
        description="Write the systemd unit that starts Plugvisor on boot for USER with its "
        "data in DATA_DIR, then enable it (systemctl daemon-reload; systemctl enable).",
    )
    parser.add_argument("--user", required=True, help="the user the service runs as")
    parser.add_argument("--group", help="its group (default: the user's primary group)")
    parser.add_argument("--data-dir", required=True, help="absolute, e.g. /var/lib/plugvisor")
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to serve the network")
    parser.add_argument("--port", type=int, default=5050)
    parser.add_argument(
        "--install-dir", default=str(REPO_ROOT), help="this checkout (default: %(default)s)"
    )
    parser.add_argument(
        "--python", default=sys.executable, help="its interpreter (default: %(default)s)"
    )
    parser.add_argument("--unit-dir", default=str(SYSTEM_UNIT_DIR), help="%(default)s")
    parser.add_argument("--dry-run", action="store_true", help="print the unit, change nothing")
    parser.add_argument("--no-enable", action="store_true", help="write it, leave systemctl be")
    parser.add_argument("--now", action="store_true", help="also start it (enable --now)")
    return parser.parse_args(argv)


def write_unit(folder: Path, text: str) -> Path:
    """Write ``plugvisor.service`` in ``folder`` whole or not at all (temp file, rename)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / UNIT_NAME
    temporary = folder / f".{UNIT_NAME}.tmp"
    temporary.write_text(text, encoding="utf-8")
    temporary.chmod(0o644)
    os.replace(temporary, target)
    return target


def enable(now: bool) -> int:
    """``systemctl daemon-reload`` then ``enable [--now]``; 0, or the failing exit code."""
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        print(
            "systemctl not found: the unit is written but not enabled. On the device run:\n"
            f"  sudo systemctl daemon-reload && sudo systemctl enable --now {UNIT_NAME}"
        )
        return 0
    commands = [[systemctl, "daemon-reload"], [systemctl, "enable", UNIT_NAME]]
    if now:
        commands[1].insert(2, "--now")
    for command in commands:
        done = subprocess.run(command, check=False, timeout=60)
        if done.returncode != 0:
            print(f"{' '.join(command[1:])} failed (exit {done.returncode})", file=sys.stderr)
            return done.returncode
    print(f"{UNIT_NAME} enabled{' and started' if now else ''}: systemctl status plugvisor")
    return 0


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    try:
        spec = spec_from_args(args)
        text = render_unit(TEMPLATE.read_text(encoding="utf-8"), spec)
    except UnitError as exc:
        print(f"install-service: {exc}", file=sys.stderr)
        return 2
    try:
        pwd.getpwnam(spec.user)
    except KeyError:
        print(
            f"note: user {spec.user!r} does not exist here; create it before starting.",
            file=sys.stderr,
        )
    if args.dry_run:
        sys.stdout.write(text)
        return 0
    try:
        target = write_unit(Path(args.unit_dir), text)
    except OSError as exc:
        print(
            f"install-service: cannot write the unit: {exc.strerror} (run with sudo?)",
            file=sys.stderr,
        )
        return 1
    print(f"wrote {target}")
    if args.no_enable:
        return 0
    return enable(args.now)
