"""Input checks on URLs, branches and sub-paths, and the redaction of secrets and paths."""

from __future__ import annotations

import pytest

from actors.errors import ErrorCode, PlugvisorError
from actors.installer.redact import display_url, redact_text, redact_url
from actors.installer.urls import (
    is_archive_url,
    validate_archive_url,
    validate_branch,
    validate_git_url,
    validate_plugin_path,
)


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/ChuckBuilds/ledmatrix-weather",
        "https://github.com/ChuckBuilds/ledmatrix-weather.git",
        "http://127.0.0.1:8080/repo.git",
        "https://user:token@git.example.com/a/b.git",
        "ssh://git@github.com/owner/repo.git",
        "ssh://git@[::1]:2222/srv/repo.git",
        "file:///srv/git/repo",
        "  https://github.com/owner/repo  ",
    ],
)
def test_accepted_git_urls(url):
    assert validate_git_url(url) == url.strip()


@pytest.mark.parametrize(
    "url",
    [
        "--upload-pack=touch /tmp/x",
        "-oProxyCommand=x",
        "ext::sh -c touch% /tmp/pwned",
        "EXT::sh",
        "fd::3",
        "ftp://example.com/repo.git",
        "git://example.com/repo.git",
        "git@github.com:owner/repo.git",
        "github.com:owner/repo",
        "https:owner/repo",
        "ssh://-oProxyCommand=x/y",
        "ssh://host/-x",
        "ssh://-user@host/x",
        "https://host_with_underscore/x",
        "https://exa\tmple.com/x",
        "https://example.com/\x00",
        "file://host/srv/repo",
        "file:relative/path",
        "file:///srv/../etc",
        "https://" + "a" * 2100,
        None,
        42,
    ],
)
def test_refused_git_urls(url):
    with pytest.raises(PlugvisorError) as caught:
        validate_git_url(url)
    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert caught.value.context == {"field": "repo_url"}


def test_file_urls_can_be_turned_off():
    with pytest.raises(PlugvisorError):
        validate_git_url("file:///srv/repo", allow_file=False)


def test_archive_urls():
    assert is_archive_url("https://github.com/o/r/archive/refs/heads/main.zip")
    assert is_archive_url("https://h/x.TAR.GZ?download=1")
    assert is_archive_url("https://h/x.tgz")
    assert not is_archive_url("https://github.com/o/r.git")
    assert validate_archive_url("https://h/p.zip") == "https://h/p.zip"
    for bad in ("file:///srv/p.zip", "ftp://h/p.zip", "https://h/p.rar", "-https://h/p.zip"):
        with pytest.raises(PlugvisorError):
            validate_archive_url(bad)


@pytest.mark.parametrize("branch", ["main", "master", "release/2.x", "v1.0.0", "feature_1+x"])
def test_accepted_branches(branch):
    assert validate_branch(branch) == branch


@pytest.mark.parametrize(
    "branch",
    ["-b", "--upload-pack=x", "a..b", "a b", "a/", "x.lock", "a//b", ".hidden", "a/.b", "@{-1}", 1],
)
def test_refused_branches(branch):
    with pytest.raises(PlugvisorError):
        validate_branch(branch)


def test_empty_branch_and_path_mean_none():
    assert validate_branch(None) is None and validate_branch("") is None
    assert validate_plugin_path(None) is None and validate_plugin_path("  /") is None


@pytest.mark.parametrize(
    ("path", "expected"), [("plugins/weather", "plugins/weather"), ("a/b/", "a/b"), ("x", "x")]
)
def test_accepted_plugin_paths(path, expected):
    assert validate_plugin_path(path) == expected


@pytest.mark.parametrize(
    "path", ["../x", "/abs", "a/../b", "a/./b", "a//b", ".git", "a\\b", "-x", "1/2/3/4/5/6/7/8/9"]
)
def test_refused_plugin_paths(path):
    with pytest.raises(PlugvisorError) as caught:
        validate_plugin_path(path)
    assert caught.value.context == {"field": "plugin_path"}


def test_redaction():
    assert redact_url("https://u:p@h/x?access_token=abc&page=2") == (
        "https://***@h/x?access_token=***&page=***"
    )
    assert redact_url("https://ghp_secret@github.com/x") == "https://***@github.com/x"
    assert display_url("file:///home/pi/repos/clock/") == "file://…/clock"
    text = "fatal: unable to access 'https://u:tok@h/r.git/': /home/pi/data/tmp/op-1 failed"
    assert redact_text(text) == "fatal: unable to access 'https://***@h/r.git/': <path> failed"
