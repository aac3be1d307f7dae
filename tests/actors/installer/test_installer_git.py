"""Git sources: hostile input refused before git runs, hung servers killed, links kept inside."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from installer_helpers import (
    GitRepo,
    git_wrapper,
    plugin_files,
    processes_mentioning,
    registry_entry,
    write_registry,
)

from actors.errors import ErrorCode, PlugvisorError

pytestmark = pytest.mark.timeout(60)


def hostile_urls(marker: str) -> list[str]:
    return [
        f"--upload-pack=touch {marker}",
        f"ext::sh -c touch% {marker}",
        f"-oProxyCommand=touch {marker}",
        f"ssh://-oProxyCommand=touch%20{marker}/repo.git",
        "ssh://git@example.invalid/-oProxyCommand=x",
        "ftp://example.invalid/repo.git",
        "fd::17",
        "git@github.com:owner/repo.git",
        "https://-evil.example/x.git",
        "https://exa mple.invalid/x.git",
        "file://remote-host/srv/repo",
        "file:///srv/../etc/repo",
        "",
        "   ",
    ]


@pytest.mark.parametrize("index", range(len(hostile_urls("m"))))
async def test_hostile_urls_are_refused_before_git_runs(tmp_path, make_installer, index):
    marker = tmp_path / "pwned"
    url = hostile_urls(str(marker))[index]
    wrapper, log = git_wrapper(tmp_path)
    installer = make_installer(
        write_registry(tmp_path / "plugins.json", []), git_binary=str(wrapper)
    )

    with pytest.raises(PlugvisorError) as caught:
        await installer.install_from_url(url)

    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert caught.value.context["field"] == "repo_url"
    assert not marker.exists()
    assert not log.exists()  # git never ran
    assert list(installer.paths.tmp_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("branch", "--upload-pack=touch x"),
        ("branch", "-b"),
        ("branch", "main..evil"),
        ("branch", "a b"),
        ("plugin_path", "../outside"),
        ("plugin_path", "/etc"),
        ("plugin_path", "plugins/../../x"),
        ("plugin_id", "../config"),
    ],
)
async def test_hostile_branch_path_and_id_are_refused(tmp_path, make_installer, field, value):
    repo = GitRepo(tmp_path / "repo")
    repo.commit(plugin_files("safe"))
    wrapper, log = git_wrapper(tmp_path)
    installer = make_installer(
        write_registry(tmp_path / "plugins.json", []), git_binary=str(wrapper)
    )
    with pytest.raises(PlugvisorError) as caught:
        await installer.install_from_url(repo.url, **{field: value})
    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert caught.value.context["field"] == field
    assert not log.exists()


async def test_remote_registry_may_not_point_at_local_repositories(
    tmp_path, make_installer, http_server
):
    repo = GitRepo(tmp_path / "repo")
    repo.commit(plugin_files("local"))
    http_server.routes["/plugins.json"] = write_registry(
        tmp_path / "plugins.json", [registry_entry("local", repo.url)]
    ).read_bytes()
    installer = make_installer(http_server.url("/plugins.json"))
    with pytest.raises(PlugvisorError) as caught:
        await installer.install_from_registry("local")
    assert caught.value.code is ErrorCode.PLUGIN_INSTALL_FAILED
    assert caught.value.message.startswith("The registry entry of 'local' is unusable: ")


async def test_credentials_never_appear_in_messages(tmp_path, make_installer):
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    url = "http://user:s3cret-token@127.0.0.1:9/repo.git"  # port 9: nothing listens
    with pytest.raises(PlugvisorError) as caught:
        await installer.install_from_url(url)
    assert caught.value.code is ErrorCode.NETWORK_ERROR
    assert "s3cret" not in caught.value.message
    assert "http://***@127.0.0.1:9/repo.git" in caught.value.message


async def test_missing_repository_fails_cleanly(tmp_path, make_installer):
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    with pytest.raises(PlugvisorError) as caught:
        await installer.install_from_url((tmp_path / "absent").as_uri())
    assert caught.value.code is ErrorCode.PLUGIN_INSTALL_FAILED
    assert caught.value.message == "Could not clone file://…/absent: the repository was not found"


async def test_a_hung_clone_is_cancelled_within_two_seconds(
    tmp_path, make_installer, silent_server
):
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    url = f"http://127.0.0.1:{silent_server.port}/hung/repo.git"
    task = asyncio.create_task(installer.install_from_url(url))
    await asyncio.wait_for(silent_server.connected.wait(), timeout=20)
    assert processes_mentioning(url)  # git is running, stuck on the silent server

    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=2)
    assert time.monotonic() - started < 2
    assert processes_mentioning(url) == []  # git and its remote helper were killed
    assert list(installer.paths.tmp_dir.iterdir()) == []
    assert await installer.installed_ids() == []


async def test_a_hung_clone_times_out(tmp_path, make_installer, silent_server):
    installer = make_installer(write_registry(tmp_path / "plugins.json", []), git_timeout_s=1.0)
    url = f"http://127.0.0.1:{silent_server.port}/slow.git"
    with pytest.raises(PlugvisorError) as caught:
        await installer.install_from_url(url)
    assert caught.value.code is ErrorCode.TIMEOUT
    assert processes_mentioning(url) == []
    assert list(installer.paths.tmp_dir.iterdir()) == []


async def test_symlink_out_of_the_repository_is_refused(tmp_path, make_installer):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not ship")
    repo = GitRepo(tmp_path / "repo")
    os.symlink(secret, repo.path / "leak.txt")
    repo.commit(plugin_files("leaky"))
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    with pytest.raises(PlugvisorError) as caught:
        await installer.install_from_url(repo.url)
    assert caught.value.code is ErrorCode.PLUGIN_INSTALL_FAILED
    assert caught.value.message == "'leak.txt' is a link that leads outside the plugin"
    assert await installer.installed_ids() == []


async def test_symlink_inside_the_repository_is_kept(tmp_path, make_installer):
    repo = GitRepo(tmp_path / "repo")
    (repo.path / "assets").mkdir()
    os.symlink("../README.md", repo.path / "assets" / "readme-link")
    repo.commit(plugin_files("linked"))
    installer = make_installer(write_registry(tmp_path / "plugins.json", []))
    await installer.install_from_url(repo.url)
    link = installer.paths.plugins_dir / "linked" / "assets" / "readme-link"
    assert link.is_symlink() and link.read_text() == "linked 1.0.0\n"
