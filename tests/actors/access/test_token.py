"""The token file's pure decisions: which binds are exposed, what a token file may hold, where."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.access.token import TokenFileError, exposed, locate, parse_token
from actors.secret_values import SecretValues


@pytest.mark.parametrize(
    ("host", "is_exposed"),
    [
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("localhost", False),
        ("LOCALHOST", False),
        ("::1", False),
        ("[::1]", False),
        ("0.0.0.0", True),
        ("::", True),
        ("", True),
        ("192.168.1.20", True),
        ("raspberrypi.local", True),
        ("localhost.evil.example", True),
    ],
)
def test_only_loopback_binds_are_private(host: str, is_exposed: bool) -> None:
    assert exposed(host) is is_exposed


def test_a_token_is_the_first_line_stripped() -> None:
    assert parse_token(b"  abcdefghijklmnop-_~.  \nsecond line\n") == "abcdefghijklmnop-_~."


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"", "the token file is empty"),
        (b"\n\n", "the token file is empty"),
        (b"short", "the token must be 16 to 512 characters long"),
        (b"a" * 513, "the token must be 16 to 512 characters long"),
        (b"has a space inside it", "the token holds spaces or control characters"),
        (
            "caf\u00e9-token-long-enough".encode(),
            "the token file holds characters other than ASCII",
        ),
        (b"x" * 5000, "the token file is larger than a token can be"),
    ],
)
def test_an_unusable_token_file_says_why(raw: bytes, why: str) -> None:
    with pytest.raises(TokenFileError) as refused:
        parse_token(raw)
    assert str(refused.value) == why


def test_the_token_file_location(tmp_path: Path) -> None:
    folder, root = tmp_path / "data" / "auth", tmp_path / "data"
    assert locate(folder, root, None) == locate(folder, root, "")
    default = locate(folder, root, None)
    assert (default.path, default.named) == (folder / "token", False)
    relative = locate(folder, root, "keys/api")
    assert (relative.path, relative.named) == (root / "keys" / "api", True)
    absolute = locate(folder, root, str(tmp_path / "t"))
    assert (absolute.path, absolute.named) == (tmp_path / "t", True)


def test_secret_values_keep_long_strings_longest_first() -> None:
    values = SecretValues()
    values.add_leaves({"a": "abc", "b": ["hunter22", {"c": "hunter2222"}], "n": 12345678})
    values.add(None)
    assert values.values() == ("hunter2222", "hunter22")
    same = values.values()
    values.add("hunter22")
    assert values.values() is same  # nothing new: the redactor keeps its compiled pattern
