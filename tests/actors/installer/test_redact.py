"""URL redaction: userinfo, every query value and the fragment; keyed URL fingerprints."""

from __future__ import annotations

import pytest

from actors.errors import ErrorCode, PlugvisorError
from actors.installer.redact import display_url, redact_text, redact_url, url_fingerprint
from actors.installer.urls import validate_archive_url, validate_git_url

SECRET = "S3cr3tT0ken"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"https://host/r.git#{SECRET}", "https://host/r.git#***"),
        (f"https://host/a.zip?{SECRET}", "https://host/a.zip?***"),
        (f"https://host/a.zip?token={SECRET}", "https://host/a.zip?token=***"),
        (
            f"https://host/a.zip?access_token={SECRET}&x=1",
            "https://host/a.zip?access_token=***&x=***",
        ),
        (
            f"https://host/a.zip?X-Amz-Credential={SECRET}&",
            "https://host/a.zip?X-Amz-Credential=***&",
        ),
        (f"https://host/a.zip?a=&{SECRET}&b", "https://host/a.zip?a=&***&***"),
        (f"https://user:{SECRET}@host/r.git", "https://***@host/r.git"),
        (f"https://{SECRET}@host/r.git", "https://***@host/r.git"),
        (f"https://u:p@{SECRET}@host/r.git", "https://***@host/r.git"),  # '@' in a password
        (f"HTTPS://u:{SECRET}@host:8443?q={SECRET}#{SECRET}", "HTTPS://***@host:8443?q=***#***"),
        (f"ssh://git:{SECRET}@host/r.git", "ssh://***@host/r.git"),
        ("https://host/r.git", "https://host/r.git"),
        ("https://host/r.git?", "https://host/r.git?"),
        ("https://host/p@th/r.git", "https://host/p@th/r.git"),  # an '@' in the path is no userinfo
        ("/srv/registry.json", "/srv/registry.json"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert display_url(url) == shown or url.startswith("/")


def test_redact_text_masks_every_url_in_it() -> None:
    text = (
        f"fatal: repository 'http://127.0.0.1:9/r.git?{SECRET}/' not found\n"
        f"Cloning into https://u:{SECRET}@h/x.git#{SECRET} from /home/pi/data/tmp/op-1\n"
        f"cut off line ...?api_key={SECRET} end"
    )
    assert redact_text(text) == (
        "fatal: repository 'http://127.0.0.1:9/r.git?***' not found\n"
        "Cloning into https://***@h/x.git#*** from <path>\n"
        "cut off line ...?api_key=*** end"
    )


def test_fingerprints_tell_credentials_apart_and_reveal_nothing() -> None:
    key, other_key = b"k" * 32, b"o" * 32
    one = url_fingerprint(f"https://h/a.zip?{SECRET}", key)
    assert one == url_fingerprint(f"https://h/a.zip?{SECRET}", key)
    assert one != url_fingerprint("https://h/a.zip?other", key)
    assert one != url_fingerprint(f"https://h/a.zip?{SECRET}", other_key)
    assert len(one) == 32 and set(one) <= set("0123456789abcdef")
    assert SECRET.lower() not in one


@pytest.mark.parametrize(
    ("validate", "url"),
    [
        (validate_git_url, f"https://host/r.git#{SECRET}"),
        (validate_git_url, "https://host/r.git#"),
        (validate_git_url, f"file:///srv/repo#{SECRET}"),
        (validate_archive_url, f"https://host/a.zip#{SECRET}"),
    ],
)
def test_a_fragment_is_refused_without_echoing_it(validate, url: str) -> None:
    with pytest.raises(PlugvisorError) as caught:
        validate(url)
    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert caught.value.context == {"field": "repo_url"}
    assert caught.value.message == (
        "'repo_url' must not have a fragment ('#…'): it is never sent to the server;"
        " name a branch in 'branch'"
    )
