"""What bench/soak.py runs against: git repositories of real plugin metadata, a local registry
naming them, and run.py started with the fault switch armed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures" / "ledmatrix-plugins"
# Toggled and configured all along; installed and uninstalled over and over.
STABLE = ("clock-simple", "football-scoreboard")
CHURN = "baseball-scoreboard"
MANAGER_PY = "class Plugin:\n    def update(self):\n        return None\n"
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "soak",
    "GIT_AUTHOR_EMAIL": "soak@example.invalid",
    "GIT_COMMITTER_NAME": "soak",
    "GIT_COMMITTER_EMAIL": "soak@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        env=GIT_ENV,
        check=True,
        capture_output=True,
    )


def plugin_repo(root: Path, plugin_id: str) -> Path:
    """The fixture's manifest and schema, unchanged, with a small entry point. Its
    requirements are left out: the soak installs offline and measures the supervisor, not pip."""
    repo = root / "repos" / plugin_id
    repo.mkdir(parents=True)
    for name in ("manifest.json", "config_schema.json"):
        shutil.copyfile(FIXTURES / plugin_id / name, repo / name)
    (repo / "manager.py").write_text(MANAGER_PY)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"{plugin_id} as published")
    return repo


def prepare(root: Path) -> tuple[Path, Path]:
    """(data dir, registry file): the fixture registry, its entries pointing at local repos."""
    document = orjson.loads((FIXTURES / "registry-plugins.json").read_bytes())
    wanted = {*STABLE, CHURN}
    entries = []
    for entry in document["plugins"]:
        if entry["id"] in wanted:
            url = plugin_repo(root, entry["id"]).resolve().as_uri()
            entries.append({**entry, "repo": url, "branch": "main", "plugin_path": ""})
    registry = root / "registry.json"
    registry.write_bytes(orjson.dumps({**document, "plugins": entries}))
    return root / "data", registry


def start_server(
    data: Path, registry: Path, port: int, victims: str, log: Path, arena_max: int, retention: int
) -> subprocess.Popen[bytes]:
    """run.py with ``PLUGVISOR_FAULT_INJECTION`` set (SIGUSR2 crashes the next victim) and,
    unless ``arena_max`` is 0, ``MALLOC_ARENA_MAX`` as the systemd unit sets it; waits,
    bounded, until it prints that it serves."""
    args = [
        sys.executable,
        str(REPO / "run.py"),
        *("--host", "127.0.0.1", "--port", str(port)),
        *("--data-dir", str(data), "--registry-url", str(registry)),
        *("--log-format", "json", "--reconcile-interval", "5", "--pip-no-index"),
        *("--operation-retention", str(retention)),
    ]
    env = {**os.environ, "PLUGVISOR_FAULT_INJECTION": victims}
    env.pop("MALLOC_ARENA_MAX", None)
    if arena_max:
        env["MALLOC_ARENA_MAX"] = str(arena_max)
    with log.open("ab") as err:
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=err)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # bounded by the server: it exits if it cannot start
    if b"serving on" not in line:
        proc.kill()
        raise RuntimeError(f"the server did not start: {line!r}; see {log}")
    return proc
