"""Refusals of source addresses never show their credentials, however long the address."""

from __future__ import annotations

import pytest

from actors.errors import PlugvisorError
from actors.installer.urls import validate_branch, validate_git_url, validate_plugin_path

TOKEN = "t0ken" * 30  # 150 characters: longer than the part of a URL a message shows


@pytest.mark.parametrize(
    "url",
    [
        f"https://oauth2:{TOKEN}@bad_host.example/x.git",
        f"https://user:{TOKEN}@-bad.example/x.git",
        f"ftp://user:{TOKEN}@example.org/x.git",
    ],
)
def test_a_refused_url_never_shows_its_password(url: str) -> None:
    with pytest.raises(PlugvisorError) as refused:
        validate_git_url(url)
    assert "t0ken" not in refused.value.message
    assert "t0ken" not in str(refused.value.context)


@pytest.mark.parametrize("value", ["main\n", "v1.0\n", "main\r"])
def test_a_branch_with_a_line_break_is_refused(value: str) -> None:
    with pytest.raises(PlugvisorError):
        validate_branch(value)


def test_a_plugin_path_with_a_line_break_is_refused() -> None:
    with pytest.raises(PlugvisorError):
        validate_plugin_path("plugins\n/clock")
