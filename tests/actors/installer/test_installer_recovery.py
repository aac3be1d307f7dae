"""Crash recovery: a process killed mid-update, then recover() at the next start."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest
from installer_helpers import (
    GitRepo,
    plugin_files,
    registry_entry,
    snapshot,
    tombstoned,
    write_registry,
    write_tree,
)

from actors.installer import RecoveryAction
from actors.installer.landing import Lander
from actors.installer.tombstones import Tombstones

pytestmark = pytest.mark.timeout(90)

REPO_ROOT = Path(__file__).resolve().parents[3]

# Runs an update in a separate process that SIGKILLs itself when a chosen progress message comes.
CHILD = """
import asyncio, os, signal, sys
from pathlib import Path
from actors.installer import Installer, Registry
from actors.paths import DataPaths

data_dir, registry, kill_at = sys.argv[1:4]

def progress(stage, value, message):
    if message == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)

async def main():
    paths = DataPaths(Path(data_dir))
    entry = await Registry(registry, paths.cache_dir).resolve("clock")
    await Installer(paths).update("clock", registry_entry=entry, progress=progress)

asyncio.run(main())
"""


async def run_child_update(data_dir: Path, registry: Path, kill_at: str) -> int:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        str(data_dir),
        str(registry),
        kill_at,
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == -signal.SIGKILL, stderr.decode()[-2000:]
    return proc.returncode


@pytest.mark.parametrize(
    ("kill_at", "visible_after_crash"),
    [
        ("Checking manifest.json and compatibility", "old"),
        ("Setting the installed copy aside", "old"),
        ("Moving the new copy into place", "none"),
        ("Checking the new copy in place", "new"),
    ],
)
async def test_recover_after_a_sigkill_mid_update_restores_the_old_copy(
    tmp_path, make_installer, data_paths, kill_at, visible_after_crash
):
    repo = GitRepo(tmp_path / "repo")
    repo.commit(plugin_files("clock", "1.0.0"))
    registry = write_registry(tmp_path / "plugins.json", [registry_entry("clock", repo.url)])
    await make_installer(registry).install_from_registry("clock")
    before = snapshot(data_paths.plugins_dir)
    repo.commit(plugin_files("clock", "2.0.0"))

    await run_child_update(data_paths.root, registry, kill_at)

    manifest = data_paths.plugins_dir / "clock" / "manifest.json"
    versions = {"1.0.0": "old", "2.0.0": "new"}
    seen = versions[json.loads(manifest.read_text())["version"]] if manifest.exists() else "none"
    assert seen == visible_after_crash  # the crash really hit where it was meant to
    assert list(data_paths.tmp_dir.iterdir())  # debris left behind

    installer = make_installer(registry)
    report = await installer.recover()

    assert snapshot(data_paths.plugins_dir) == before
    assert list(data_paths.tmp_dir.iterdir()) == []
    if kill_at.startswith("Checking manifest"):
        assert report.actions == []  # nothing had moved: only debris to sweep
        assert [name.split("-")[0] for name in report.debris_removed] == ["update"]
    else:
        assert report.actions == [
            RecoveryAction("install", "clock", "rolled_back", "previous copy restored")
        ]
    assert (await installer.update("clock")).version == "2.0.0"  # and it works afterwards


def staged_lander(data_paths, plugin_id: str, version: str):
    lander = Lander(data_paths, Tombstones(data_paths.plugins_dir))
    ws = lander.new_workspace("install")
    write_tree(ws.tree, plugin_files(plugin_id, version))
    return lander, ws


async def test_a_committed_landing_is_finished_not_undone(data_paths, make_installer, tmp_path):
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    lander, ws = staged_lander(data_paths, "done", "1.0.0")
    Tombstones(data_paths.plugins_dir).set("done", True)
    intent = lander.prepare_land(ws, "done")
    lander.set_aside(ws, intent)
    lander.move_in(ws, intent)
    lander.commit_land(ws, intent)  # ...and the process dies before cleaning up

    report = await installer.recover()

    assert report.actions == [
        RecoveryAction("install", "done", "completed", "finished after the commit")
    ]
    assert (await installer.read_manifest("done"))["version"] == "1.0.0"
    assert tombstoned(data_paths.plugins_dir) == []
    assert list(data_paths.tmp_dir.iterdir()) == []


async def test_an_interrupted_fresh_install_is_removed(data_paths, make_installer, tmp_path):
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    lander, ws = staged_lander(data_paths, "half", "1.0.0")
    intent = lander.prepare_land(ws, "half")
    lander.move_in(ws, intent)  # landed, never committed

    report = await installer.recover()

    assert report.actions == [
        RecoveryAction("install", "half", "rolled_back", "partial copy removed")
    ]
    assert await installer.installed_ids() == []


async def test_an_interrupted_uninstall_is_undone(data_paths, make_installer, tmp_path):
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    lander, ws = staged_lander(data_paths, "stays", "1.0.0")
    landing = lander.prepare_land(ws, "stays")
    lander.move_in(ws, landing)
    lander.finish(ws, lander.commit_land(ws, landing))
    before = snapshot(data_paths.plugins_dir / "stays")
    removal = lander.new_workspace("uninstall")
    intent = lander.prepare_remove(removal, "stays")
    lander.take_out(removal, intent)
    Tombstones(data_paths.plugins_dir).set("stays", True)  # written just before the crash

    report = await installer.recover()

    assert report.actions == [
        RecoveryAction("uninstall", "stays", "rolled_back", "previous copy restored")
    ]
    assert snapshot(data_paths.plugins_dir / "stays") == before
    assert tombstoned(data_paths.plugins_dir) == []


async def test_recover_sweeps_debris_and_stale_temp_files(data_paths, make_installer, tmp_path):
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    write_tree(data_paths.tmp_dir, {"install-0123456789abcdef/clone/x": "x", "stray.bin": "y"})
    (data_paths.tmp_dir / "garbage.intent.json").write_text("{not json")
    (data_paths.plugins_dir / ".tombstones.json.tmp.99.0").write_text("{")

    report = await installer.recover()

    assert report.actions == []
    assert sorted(report.debris_removed) == [
        "garbage.intent.json",
        "install-0123456789abcdef",
        "stray.bin",
    ]
    assert list(data_paths.tmp_dir.iterdir()) == []
    assert not (data_paths.plugins_dir / ".tombstones.json.tmp.99.0").exists()
    assert (await installer.recover()).clean
