"""Python dependencies: pip from a local wheelhouse into .deps; failures and cancels rolled back."""

from __future__ import annotations

import asyncio
import time

import pytest
from installer_helpers import (
    GitRepo,
    plugin_files,
    processes_mentioning,
    registry_entry,
    snapshot,
    write_registry,
    write_tree,
    zip_bytes,
)

from actors.errors import ErrorCode, PlugvisorError
from actors.installer import PipOptions
from actors.installer.deps import read_requirements

pytestmark = pytest.mark.timeout(90)


def test_only_real_requirement_lines_count(tmp_path):
    write_tree(tmp_path, {"requirements.txt": "# comment\n\n   \nfoo>=1  # pinned\n#bar\nbaz\n"})
    assert read_requirements(tmp_path) == ["foo>=1", "baz"]
    write_tree(tmp_path, {"requirements.txt": "# only comments\n\n"})
    assert read_requirements(tmp_path) == []
    (tmp_path / "requirements.txt").unlink()
    assert read_requirements(tmp_path) == []


async def test_requirements_are_installed_into_the_plugin(tmp_path, make_installer):
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    files = plugin_files("needs-dep", requirements="plugvisor-testdep==1.0.0\n")
    result = await installer.install_from_archive(zip_bytes(files), "needs-dep.zip")
    assert result.dependencies_installed is True
    module = (
        installer.paths.plugins_dir / "needs-dep" / ".deps" / "plugvisor_testdep" / "__init__.py"
    )
    assert module.read_text() == "VERSION = '1.0.0'\n"
    assert list(installer.paths.tmp_dir.iterdir()) == []


async def test_a_failing_requirement_fails_and_rolls_back_the_install(tmp_path, make_installer):
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    files = plugin_files("bad-dep", requirements="plugvisor-missing==9.9\n")
    with pytest.raises(PlugvisorError) as caught:
        await installer.install_from_archive(zip_bytes(files), "bad-dep.zip")
    assert caught.value.code is ErrorCode.PLUGIN_INSTALL_FAILED
    assert caught.value.message.startswith("Installing the plugin's Python dependencies failed:")
    assert "plugvisor-missing==9.9" in caught.value.message
    assert str(tmp_path) not in caught.value.message
    assert await installer.installed_ids() == []
    assert list(installer.paths.tmp_dir.iterdir()) == []


async def test_a_failing_requirement_in_an_update_keeps_the_old_copy(tmp_path, make_installer):
    repo = GitRepo(tmp_path / "repo")
    repo.commit(plugin_files("dep-update", "1.0.0", requirements="plugvisor-testdep\n"))
    registry = write_registry(tmp_path / "plugins.json", [registry_entry("dep-update", repo.url)])
    installer = make_installer(registry)
    await installer.install_from_registry("dep-update")
    before = snapshot(installer.paths.plugins_dir)
    repo.commit(plugin_files("dep-update", "2.0.0", requirements="plugvisor-missing>=1\n"))

    with pytest.raises(PlugvisorError) as caught:
        await installer.update("dep-update")

    assert caught.value.code is ErrorCode.PLUGIN_UPDATE_FAILED
    assert snapshot(installer.paths.plugins_dir) == before
    assert list(installer.paths.tmp_dir.iterdir()) == []


async def test_pip_options_in_requirements_are_refused(tmp_path, make_installer):
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    files = plugin_files("sneaky", requirements="--index-url http://evil.invalid/simple\nfoo\n")
    with pytest.raises(PlugvisorError) as caught:
        await installer.install_from_archive(zip_bytes(files), "sneaky.zip")
    assert caught.value.message == "requirements.txt line 1: only package names, no pip options"


async def test_a_hung_pip_is_killed_on_cancel(tmp_path, make_installer, silent_server):
    index = f"http://127.0.0.1:{silent_server.port}/simple"
    installer = make_installer(
        write_registry(tmp_path / "plugins.json", []), pip=PipOptions(index_url=index)
    )
    files = plugin_files("slow-dep", requirements="plugvisor-remote==1.0\n")
    task = asyncio.create_task(installer.install_from_archive(zip_bytes(files), "slow.zip"))
    await asyncio.wait_for(silent_server.connected.wait(), timeout=30)
    staging = str(installer.paths.tmp_dir)
    assert processes_mentioning(staging)  # pip is running

    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=2)
    assert time.monotonic() - started < 2
    assert processes_mentioning(staging) == []
    assert list(installer.paths.tmp_dir.iterdir()) == []
    assert await installer.installed_ids() == []


async def test_a_hung_pip_times_out(tmp_path, make_installer, silent_server):
    index = f"http://127.0.0.1:{silent_server.port}/simple"
    options = PipOptions(index_url=index, timeout_s=2.0)
    installer = make_installer(write_registry(tmp_path / "plugins.json", []), pip=options)
    files = plugin_files("slow-dep", requirements="plugvisor-remote==1.0\n")
    with pytest.raises(PlugvisorError) as caught:
        await installer.install_from_archive(zip_bytes(files), "slow.zip")
    assert caught.value.code is ErrorCode.TIMEOUT
    assert processes_mentioning(str(installer.paths.tmp_dir)) == []
    assert list(installer.paths.tmp_dir.iterdir()) == []
