"""Updates: a new revision swapped in; a failing or cancelled update leaves the old copy working."""

from __future__ import annotations

import asyncio

import pytest
from installer_helpers import (
    GitRepo,
    git_wrapper,
    plugin_files,
    registry_entry,
    snapshot,
    write_registry,
    zip_bytes,
)

from actors.errors import ErrorCode, PlugvisorError

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def clock_repo(tmp_path) -> GitRepo:
    repo = GitRepo(tmp_path / "repos" / "clock")
    repo.commit(plugin_files("clock", "1.0.0"))
    return repo


@pytest.fixture
def registry_file(tmp_path, clock_repo):
    return write_registry(tmp_path / "plugins.json", [registry_entry("clock", clock_repo.url)])


async def test_update_to_a_new_version(clock_repo, registry_file, make_installer):
    installer = make_installer(registry_file)
    await installer.install_from_registry("clock")
    first = await installer.installed_record("clock")
    new_commit = clock_repo.commit(plugin_files("clock", "1.1.0"))

    result = await installer.update("clock")

    assert (result.version, result.previous_version, result.updated) == ("1.1.0", "1.0.0", True)
    assert result.source.commit == new_commit
    record = await installer.installed_record("clock")
    assert record.version == "1.1.0"
    assert record.installed_at == first.installed_at
    assert record.last_updated >= first.last_updated
    assert (await installer.read_manifest("clock"))["version"] == "1.1.0"
    assert list(installer.paths.tmp_dir.iterdir()) == []


async def test_update_with_nothing_new_changes_nothing(
    tmp_path, clock_repo, registry_file, make_installer
):
    wrapper, log = git_wrapper(tmp_path)
    installer = make_installer(registry_file, git_binary=str(wrapper))
    await installer.install_from_registry("clock")
    before = snapshot(installer.paths.plugins_dir)
    log.unlink()

    result = await installer.update("clock")

    assert (result.updated, result.version, result.previous_version) == (False, "1.0.0", "1.0.0")
    assert snapshot(installer.paths.plugins_dir) == before
    calls = log.read_text()
    assert " ls-remote " in calls and " clone " not in calls  # asked, did not re-clone


async def test_a_failing_update_leaves_the_old_copy_working(
    clock_repo, registry_file, make_installer
):
    installer = make_installer(registry_file)
    await installer.install_from_registry("clock")
    before = snapshot(installer.paths.plugins_dir)
    broken = plugin_files("clock", "2.0.0")
    broken["manifest.json"] = broken["manifest.json"][:-3]  # truncated JSON
    clock_repo.commit(broken)

    with pytest.raises(PlugvisorError) as caught:
        await installer.update("clock")

    assert caught.value.code is ErrorCode.PLUGIN_UPDATE_FAILED
    assert caught.value.message.startswith("manifest.json is not valid JSON")
    assert snapshot(installer.paths.plugins_dir) == before
    assert (await installer.read_manifest("clock"))["version"] == "1.0.0"
    assert list(installer.paths.tmp_dir.iterdir()) == []

    clock_repo.commit(plugin_files("clock", "2.0.1"))  # a fixed release updates normally
    assert (await installer.update("clock")).version == "2.0.1"


async def test_an_update_may_not_change_the_plugin_id(clock_repo, registry_file, make_installer):
    installer = make_installer(registry_file)
    await installer.install_from_registry("clock")
    clock_repo.replace_all(plugin_files("clock-two", "2.0.0"))
    with pytest.raises(PlugvisorError) as caught:
        await installer.update("clock")
    assert caught.value.code is ErrorCode.PLUGIN_UPDATE_FAILED
    assert caught.value.message == "The new version's manifest id is 'clock-two', not 'clock'"
    assert await installer.installed_ids() == ["clock"]


@pytest.mark.parametrize(
    "cancel_at", ["Setting the installed copy aside", "Moving the new copy into place"]
)
async def test_a_cancel_during_the_swap_restores_the_old_copy(
    clock_repo, registry_file, make_installer, cancel_at
):
    installer = make_installer(registry_file)
    await installer.install_from_registry("clock")
    before = snapshot(installer.paths.plugins_dir)
    clock_repo.commit(plugin_files("clock", "3.0.0"))

    async def cancel_me(stage: str, progress: float, message: str) -> None:
        if message == cancel_at:
            asyncio.current_task().cancel()

    with pytest.raises(asyncio.CancelledError):
        await installer.update("clock", progress=cancel_me)

    assert snapshot(installer.paths.plugins_dir) == before
    assert list(installer.paths.tmp_dir.iterdir()) == []
    assert (await installer.update("clock")).version == "3.0.0"


async def test_update_from_a_git_url_follows_the_branch(tmp_path, make_installer):
    repo = GitRepo(tmp_path / "repos" / "giturl")
    repo.commit(plugin_files("giturl", "1.0.0"))
    repo.git("checkout", "-q", "-b", "beta")
    repo.commit(plugin_files("giturl", "1.5.0-beta.1"))
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    assert (await installer.install_from_url(repo.url, branch="beta")).version == "1.5.0-beta.1"

    repo.commit(plugin_files("giturl", "1.5.0-beta.2"))
    result = await installer.update("giturl")
    assert (result.version, result.source.branch) == ("1.5.0-beta.2", "beta")


async def test_update_from_an_archive_url(tmp_path, make_installer, http_server):
    http_server.routes["/a.zip"] = zip_bytes(plugin_files("arch", "1.0.0"))
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    await installer.install_from_url(http_server.url("/a.zip"))

    assert (await installer.update("arch")).updated is False  # same bytes
    http_server.routes["/a.zip"] = zip_bytes(plugin_files("arch", "1.0.1"))
    assert (await installer.update("arch")).version == "1.0.1"


async def test_updates_that_cannot_be_done(tmp_path, make_installer):
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    with pytest.raises(PlugvisorError) as caught:
        await installer.update("not-installed")
    assert caught.value.code is ErrorCode.PLUGIN_NOT_FOUND

    await installer.install_from_archive(zip_bytes(plugin_files("uploaded")), "u.zip")
    with pytest.raises(PlugvisorError) as caught:
        await installer.update("uploaded")
    assert caught.value.code is ErrorCode.PLUGIN_UPDATE_FAILED
    assert "uploaded archive" in caught.value.message
