"""Uninstall: files only, tombstones, and ids that try to reach outside plugins/."""

from __future__ import annotations

import os

import orjson
import pytest
from installer_helpers import (
    GitRepo,
    plugin_files,
    registry_entry,
    snapshot,
    tombstoned,
    write_registry,
    zip_bytes,
)

from actors.errors import ErrorCode, PlugvisorError

pytestmark = pytest.mark.timeout(60)

TRAVERSAL_IDS = [
    "../config",
    "",
    "a/b",
    ".",
    "..",
    "/etc",
    "config/..",
    "..\\x",
    "Keeper",
    "display",
]


@pytest.fixture
def installer(tmp_path, make_installer):
    return make_installer(write_registry(tmp_path / "plugins.json", []))


async def test_uninstall_removes_files_only_and_tombstones(installer, data_paths):
    await installer.install_from_archive(zip_bytes(plugin_files("gone")), "gone.zip")
    config = data_paths.config_dir / "config.json"
    config.write_text('{"gone": {"enabled": true}}')
    steps = []

    await installer.uninstall("gone", progress=lambda s, p, m: steps.append((s, p)))

    assert not (data_paths.plugins_dir / "gone").exists()
    assert config.read_text() == '{"gone": {"enabled": true}}'  # config is the store's
    assert await installer.installed_ids() == []
    stored = orjson.loads((data_paths.plugins_dir / ".tombstones.json").read_bytes())
    assert list(stored["uninstalled"]) == ["gone"]
    assert [s for s, _ in steps] == ["removing"] * len(steps) and steps[-1][1] == 1.0
    assert list(data_paths.tmp_dir.iterdir()) == []


async def test_uninstalling_what_is_not_installed(installer, data_paths):
    with pytest.raises(PlugvisorError) as caught:
        await installer.uninstall("never-here")
    assert caught.value.code is ErrorCode.PLUGIN_NOT_FOUND
    assert caught.value.message == "Plugin 'never-here' is not installed"
    assert tombstoned(data_paths.plugins_dir) == []


async def test_a_later_install_clears_the_tombstone(tmp_path, make_installer, data_paths):
    repo = GitRepo(tmp_path / "repo")
    repo.commit(plugin_files("phoenix"))
    installer = make_installer(
        write_registry(tmp_path / "plugins.json", [registry_entry("phoenix", repo.url)])
    )

    await installer.install_from_registry("phoenix")
    await installer.uninstall("phoenix")
    assert tombstoned(data_paths.plugins_dir) == ["phoenix"]
    await installer.install_from_url(repo.url)  # from a URL too (W-S4)
    assert tombstoned(data_paths.plugins_dir) == []

    await installer.uninstall("phoenix")
    await installer.install_from_registry("phoenix")
    assert tombstoned(data_paths.plugins_dir) == []


@pytest.mark.parametrize("bad_id", TRAVERSAL_IDS)
async def test_traversal_ids_never_touch_anything(tmp_path, installer, data_paths, bad_id):
    await installer.install_from_archive(zip_bytes(plugin_files("keeper")), "keeper.zip")
    (data_paths.config_dir / "sentinel.txt").write_text("config sentinel")
    (tmp_path / "outside.txt").write_text("outside sentinel")
    before = snapshot(tmp_path)

    calls = [
        installer.uninstall(bad_id),
        installer.update(bad_id),
        installer.install_from_registry(bad_id),
        installer.install_from_url("https://example.invalid/x.git", plugin_id=bad_id),
        installer.read_manifest(bad_id),
        installer.installed_record(bad_id),
    ]
    for call in calls:
        with pytest.raises(PlugvisorError) as caught:
            await call
        assert caught.value.code is ErrorCode.INVALID_INPUT

    assert snapshot(tmp_path) == before
    assert await installer.installed_ids() == ["keeper"]
    assert list(data_paths.tmp_dir.iterdir()) == []


async def test_a_plugin_folder_that_links_outside_is_not_followed(tmp_path, installer, data_paths):
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "manifest.json").write_text("{}")
    os.symlink(outside, data_paths.plugins_dir / "linked")

    with pytest.raises(PlugvisorError) as caught:
        await installer.uninstall("linked")

    assert caught.value.code is ErrorCode.PLUGIN_UNINSTALL_FAILED
    assert (outside / "manifest.json").read_text() == "{}"
    assert (data_paths.plugins_dir / "linked").is_symlink()


async def test_listing_skips_dot_entries_files_and_bad_names(installer, data_paths):
    await installer.install_from_archive(zip_bytes(plugin_files("real")), "real.zip")
    (data_paths.plugins_dir / ".hidden").mkdir()
    (data_paths.plugins_dir / "Upper").mkdir()
    (data_paths.plugins_dir / "stray-file").write_text("x")
    os.symlink(data_paths.plugins_dir / "real", data_paths.plugins_dir / "alias")
    await installer.uninstall("real")
    await installer.install_from_archive(zip_bytes(plugin_files("real")), "real.zip")
    assert await installer.installed_ids() == ["real"]
