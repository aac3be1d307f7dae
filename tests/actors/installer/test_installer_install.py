"""Installs from the registry (single repo and monorepo), git URLs, archive URLs and uploads."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import orjson
import pytest
from installer_helpers import (
    FIXTURES,
    GitRepo,
    fixture_files,
    plugin_files,
    registry_entry,
    tar_gz_bytes,
    write_registry,
    zip_bytes,
)

from actors.errors import ErrorCode, PlugvisorError
from actors.installer import Installer
from actors.installer.inventory import RECORD_FILE

pytestmark = pytest.mark.timeout(60)


def assert_clean_tmp(installer: Installer) -> None:
    assert list(installer.paths.tmp_dir.iterdir()) == []


async def test_install_from_registry_single_repo(tmp_path, make_installer):
    repo = GitRepo(tmp_path / "repos" / "clock")
    commit = repo.commit(plugin_files("clock", "1.2.0"))
    registry = write_registry(tmp_path / "plugins.json", [registry_entry("clock", repo.url)])
    installer = make_installer(registry)
    events: list[tuple[str, float, str]] = []

    result = await installer.install_from_registry(
        "clock", progress=lambda s, p, m: events.append((s, p, m))
    )

    assert (result.plugin_id, result.version, result.name) == ("clock", "1.2.0", "Plugin clock")
    assert result.source.public() == {
        "type": "registry",
        "url": repo.url,
        "branch": "main",
        "commit": commit,
        "plugin_path": None,
        "registry_id": "clock",
        "requested_branch": None,
        "archive_sha256": None,
        "archive_name": None,
    }
    assert result.manifest["class_name"] == "Plugin"
    folder = installer.paths.plugins_dir / "clock"
    assert (folder / "manager.py").is_file()
    assert not (folder / ".git").exists()  # the landed copy is not a work tree
    assert await installer.installed_ids() == ["clock"]
    record = await installer.installed_record("clock")
    assert record is not None and record.source.commit == commit
    assert_clean_tmp(installer)

    stages = [stage for stage, _, _ in events]
    order = ["resolving", "downloading", "verifying", "installing_dependencies", "activating"]
    assert [s for s in order if s in stages] == order
    assert stages == sorted(stages, key=order.index)
    values = [value for _, value, _ in events]
    assert values == sorted(values) and values[-1] == 1.0


async def test_install_from_registry_monorepo_takes_the_subfolder(tmp_path, make_installer):
    repo = GitRepo(tmp_path / "repos" / "mono")
    repo.commit(plugin_files("scores", "2.0.0"), under="plugins/scores")
    repo.commit(plugin_files("other", "1.0.0"), under="plugins/other")
    entry = registry_entry("nhl-scores", repo.url, plugin_path="plugins/scores")
    installer = make_installer(write_registry(tmp_path / "plugins.json", [entry]))

    # Found by the last segment of plugin_path, landing under the manifest id.
    result = await installer.install_from_registry("scores")

    assert result.plugin_id == "scores"
    assert result.source.plugin_path == "plugins/scores"
    landed = installer.paths.plugins_dir / "scores"
    assert sorted(p.name for p in landed.iterdir()) == [
        RECORD_FILE,
        "README.md",
        "manager.py",
        "manifest.json",
    ]
    assert await installer.installed_ids() == ["scores"]


async def test_registry_entry_with_a_relative_local_repo_path(tmp_path, make_installer):
    repo = GitRepo(tmp_path / "repos" / "rel")
    repo.commit(plugin_files("rel", "1.0.0"))
    registry = write_registry(tmp_path / "plugins.json", [registry_entry("rel", "repos/rel")])
    result = await make_installer(registry).install_from_registry("rel")
    assert result.source.url == repo.url


async def test_unknown_registry_plugin_is_not_found(tmp_path, make_installer):
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    with pytest.raises(PlugvisorError) as caught:
        await installer.install_from_registry("nothing-here")
    assert caught.value.code is ErrorCode.PLUGIN_NOT_FOUND
    assert caught.value.message == "Plugin 'nothing-here' is not in the plugin registry"


async def test_branch_falls_back_to_the_default_branch(tmp_path, make_installer):
    repo = GitRepo(tmp_path / "repos" / "fallback", branch="trunk")
    repo.commit(plugin_files("fallback"))
    entry = registry_entry("fallback", repo.url, branch="master")
    installer = make_installer(write_registry(tmp_path / "plugins.json", [entry]))
    result = await installer.install_from_registry("fallback", branch="no-such-branch")
    assert result.source.branch == "trunk"
    assert result.source.requested_branch == "no-such-branch"


async def test_install_a_registry_version_by_tag(tmp_path, make_installer):
    repo = GitRepo(tmp_path / "repos" / "tagged")
    repo.commit(plugin_files("tagged", "1.0.0"))
    repo.git("tag", "v1.0.0")
    repo.commit(plugin_files("tagged", "2.0.0"))
    versions = [{"version": "2.0.0"}, {"version": "1.0.0", "ledmatrix_min": "2.0.0"}]
    entry = registry_entry("tagged", repo.url, versions=versions, latest_version="2.0.0")
    installer = make_installer(write_registry(tmp_path / "plugins.json", [entry]))

    assert (await installer.install_from_registry("tagged", version="1.0.0")).version == "1.0.0"
    with pytest.raises(PlugvisorError) as caught:
        await installer.install_from_registry("tagged", version="9.9.9")
    assert caught.value.code is ErrorCode.PLUGIN_NOT_FOUND


async def test_install_from_git_url(tmp_path, make_installer):
    repo = GitRepo(tmp_path / "repos" / "from-url")
    repo.commit(plugin_files("from-url", "0.3.0"))
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    result = await installer.install_from_url(repo.url, plugin_id="from-url")
    assert (result.plugin_id, result.version, result.requested_id) == ("from-url", "0.3.0", None)
    assert result.source.type == "git"
    assert_clean_tmp(installer)


async def test_install_from_archive_urls(tmp_path, make_installer, http_server):
    http_server.routes["/dl/zipped-main.zip"] = zip_bytes(
        plugin_files("zipped", "1.1.0"), top="zipped-main/"
    )
    http_server.routes["/dl/tarred.tar.gz"] = tar_gz_bytes(plugin_files("tarred", "1.2.0"))
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))

    zipped = await installer.install_from_url(http_server.url("/dl/zipped-main.zip"))
    tarred = await installer.install_from_url(http_server.url("/dl/tarred.tar.gz"))

    assert (zipped.plugin_id, zipped.version, zipped.source.type) == ("zipped", "1.1.0", "archive")
    assert zipped.source.archive_sha256 is not None
    assert (tarred.plugin_id, tarred.version) == ("tarred", "1.2.0")
    assert await installer.installed_ids() == ["tarred", "zipped"]
    assert_clean_tmp(installer)


async def test_install_from_uploaded_bytes(tmp_path, make_installer):
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    data = zip_bytes(plugin_files("uploaded", "4.0.0"))
    result = await installer.install_from_archive(data, "uploaded.zip")
    assert (result.plugin_id, result.version) == ("uploaded", "4.0.0")
    assert result.source.public()["archive_name"] == "uploaded.zip"
    manifest = await installer.read_manifest("uploaded")
    assert manifest["version"] == "4.0.0"


async def test_archive_download_retries_a_failing_server(tmp_path, make_installer, http_server):
    http_server.routes["/flaky.zip"] = zip_bytes(plugin_files("flaky"))
    http_server.failures["/flaky.zip"] = 2
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    assert (await installer.install_from_url(http_server.url("/flaky.zip"))).plugin_id == "flaky"
    assert http_server.hits["/flaky.zip"] == 3


async def test_missing_archive_is_a_network_error(tmp_path, make_installer, http_server):
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    with pytest.raises(PlugvisorError) as caught:
        await installer.install_from_url(http_server.url("/gone.zip"))
    assert caught.value.code is ErrorCode.NETWORK_ERROR
    assert "HTTP 404" in caught.value.message
    assert_clean_tmp(installer)


# -- the real LEDMatrix fixtures ------------------------------------------------------------


def fixture_registry(tmp_path: Path, repos: dict[str, str]) -> Path:
    """The real registry document, with chosen entries pointed at local repositories."""
    document = json.loads((FIXTURES / "registry-plugins.json").read_text())
    for entry in document["plugins"]:
        if entry["id"] in repos:
            entry["repo"] = repos[entry["id"]]
    path = tmp_path / "plugins.json"
    path.write_text(json.dumps(document))
    return path


async def test_weather_lands_under_its_manifest_id(tmp_path, make_installer):
    repo = GitRepo(tmp_path / "repos" / "ledmatrix-weather", branch="master")
    repo.commit(fixture_files("weather"))
    installer = make_installer(fixture_registry(tmp_path, {"weather": repo.url}))

    result = await installer.install_from_registry("weather")

    assert (result.plugin_id, result.requested_id) == ("ledmatrix-weather", "weather")
    assert (result.version, result.source.branch) == ("2.0.9", "master")
    assert result.dependencies_installed  # requests, Pillow, pytz from the local wheelhouse
    landed = installer.paths.plugins_dir / "ledmatrix-weather"
    assert (landed / ".deps" / "pytz" / "__init__.py").is_file()
    assert not (installer.paths.plugins_dir / "weather").exists()
    assert await installer.installed_ids() == ["ledmatrix-weather"]


async def test_hello_world_is_refused_for_its_broken_manifest(tmp_path, make_installer):
    repo = GitRepo(tmp_path / "repos" / "hello")
    repo.commit(fixture_files("hello-world"))
    installer = make_installer(fixture_registry(tmp_path, {"hello-world": repo.url}))

    with pytest.raises(PlugvisorError) as caught:
        await installer.install_from_registry("hello-world")

    assert caught.value.code is ErrorCode.PLUGIN_INSTALL_FAILED
    assert caught.value.message.startswith("manifest.json is not valid JSON")
    assert "/" not in caught.value.message.split(":", 1)[1]  # no paths leak
    assert await installer.installed_ids() == []
    assert_clean_tmp(installer)


async def test_football_fixture_with_comment_only_requirements(tmp_path, make_installer):
    repo = GitRepo(tmp_path / "repos" / "football", branch="master")
    repo.commit(fixture_files("football-scoreboard"))
    installer = make_installer(fixture_registry(tmp_path, {"football-scoreboard": repo.url}))
    result = await installer.install_from_registry("football-scoreboard")
    assert (result.plugin_id, result.version) == ("football-scoreboard", "2.0.7")
    assert result.dependencies_installed is False
    assert not (installer.paths.plugins_dir / "football-scoreboard" / ".deps").exists()


@pytest.mark.parametrize(
    ("change", "code", "text"),
    [
        ({"compatible_versions": [">=4.0.0"]}, ErrorCode.PLUGIN_INCOMPATIBLE, ">=4.0.0"),
        ({"min_ledmatrix_version": "3.5.0"}, ErrorCode.PLUGIN_INCOMPATIBLE, ">=3.5.0"),
        ({"compatible_versions": ["not a range"]}, ErrorCode.PLUGIN_INSTALL_FAILED, "range"),
        ({"id": "../escape"}, ErrorCode.PLUGIN_INSTALL_FAILED, "invalid id"),
        ({"entry_point": "missing.py"}, ErrorCode.PLUGIN_INSTALL_FAILED, "missing.py"),
        ({"display_modes": []}, ErrorCode.PLUGIN_INSTALL_FAILED, "display_modes"),
    ],
)
async def test_bad_or_incompatible_manifests_are_refused(
    tmp_path, make_installer, change, code, text
):
    files = plugin_files("refused")
    data = orjson.loads(files["manifest.json"])
    data.update(change)
    files["manifest.json"] = orjson.dumps(data)
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    with pytest.raises(PlugvisorError) as caught:
        await installer.install_from_archive(zip_bytes(files), "refused.zip")
    assert caught.value.code is code
    assert text in caught.value.message
    assert await installer.installed_ids() == []
    assert_clean_tmp(installer)


async def test_concurrent_operations_land_one_at_a_time(tmp_path, make_installer):
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    uploads = [zip_bytes(plugin_files(f"p{i}", "1.0.0")) for i in range(4)]
    uploads.append(zip_bytes(plugin_files("p0", "1.0.1")))  # the same id twice at once

    results = await asyncio.gather(
        *(installer.install_from_archive(data, f"{i}.zip") for i, data in enumerate(uploads))
    )

    assert sorted(r.plugin_id for r in results) == ["p0", "p0", "p1", "p2", "p3"]
    assert await installer.installed_ids() == ["p0", "p1", "p2", "p3"]
    landed = (await installer.read_manifest("p0"))["version"]
    replaced = [r for r in results if r.plugin_id == "p0" and r.previous_version is not None]
    assert len(replaced) == 1 and replaced[0].version == landed  # the later one replaced the first
    assert_clean_tmp(installer)


async def test_a_failing_progress_callback_does_not_fail_the_install(tmp_path, make_installer):
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))

    def broken(stage: str, progress: float, message: str) -> None:
        raise RuntimeError("observer bug")

    result = await installer.install_from_archive(
        zip_bytes(plugin_files("robust")), "r.zip", progress=broken
    )
    assert result.plugin_id == "robust"


async def test_a_config_schema_that_is_no_valid_json_schema_is_refused(tmp_path, make_installer):
    repo = GitRepo(tmp_path / "repos" / "odd")
    files = plugin_files("odd", "1.0.0")
    files["config_schema.json"] = json.dumps({"type": "not-a-type"})
    repo.commit(files)
    installer = make_installer(
        write_registry(tmp_path / "r.json", [registry_entry("odd", repo.url)])
    )

    with pytest.raises(PlugvisorError) as caught:
        await installer.install_from_registry("odd")

    assert caught.value.code is ErrorCode.PLUGIN_INSTALL_FAILED
    assert caught.value.message.startswith("config_schema.json is not a valid JSON Schema")
    assert await installer.installed_ids() == []
    assert_clean_tmp(installer)
