"""The log redactor on event dicts: known secrets, URL credentials, Authorization, by key."""

from __future__ import annotations

from pathlib import Path

from actors.secret_values import SecretValues
from web.redaction import MASK, Redactor

SECRET = "s3cr3t-Value-91f"
TOKEN = "tok_8d1f2e3c4b5a69788796a5b4c3d2e1f0"


def redact(**event: object) -> dict[str, object]:
    values = SecretValues()
    values.add_all([SECRET, TOKEN])
    return Redactor(values)(None, "info", dict(event))


def test_known_values_are_masked_inside_any_string_and_nesting() -> None:
    event = redact(
        event=f"saved {SECRET} now",
        details={"list": [f"x{TOKEN}y", 3, None], "deep": {"a": (SECRET,)}},
        error=ValueError(f"bad {SECRET}"),
        path=Path("/x") / SECRET,
    )
    assert event == {
        "event": f"saved {MASK} now",
        "details": {"list": [f"x{MASK}y", 3, None], "deep": {"a": [MASK]}},
        "error": f"ValueError('bad {MASK}')",
        "path": f"PosixPath('/x/{MASK}')",
    }


def test_url_credentials_authorization_and_credential_parameters() -> None:
    event = redact(
        event="GET https://bob:pa@ss@example.com/x.zip?ref=main&access_token=abc123 done",
        other="git clone ssh://git@example.com/r.git; http://ghp_abcdef@github.com/o/r",
        header="Authorization: Bearer abcdefghijkl",
        basic="sent basic Zm9vOmJhcg== to the proxy",
        pair="password=hunter2 and api_key: 'k-123'",
    )
    assert event == {
        "event": f"GET https://{MASK}@example.com/x.zip?ref=main&access_token={MASK} done",
        "other": f"git clone ssh://{MASK}@example.com/r.git; http://{MASK}@github.com/o/r",
        "header": f"Authorization: {MASK}",
        "basic": f"sent basic {MASK} to the proxy",
        "pair": f"password={MASK} and api_key: '{MASK}'",
    }


def test_keys_that_name_a_secret_are_masked_whole() -> None:
    event = redact(
        token="anything",
        Authorization="Bearer x",
        headers={"Authorization": "Basic y", "Accept": "*/*"},
        github_token=42,
        token_file="/var/lib/plugvisor/auth/token",
        exc_info=True,
    )
    assert event == {
        "token": MASK,
        "Authorization": MASK,
        "headers": {"Authorization": MASK, "Accept": "*/*"},
        "github_token": MASK,
        "token_file": "/var/lib/plugvisor/auth/token",
        "exc_info": True,
    }


def test_values_added_later_are_masked_from_then_on() -> None:
    values = SecretValues()
    redactor = Redactor(values)
    assert redactor.text("late-secret-value") == "late-secret-value"
    values.add("late-secret-value")
    assert redactor.text("x late-secret-value y") == f"x {MASK} y"
