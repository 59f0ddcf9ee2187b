"""hosted.redact: secrets, URL credentials and terminal control characters."""

from __future__ import annotations

import pytest

from hosted.redact import MASK, one_line, printable, redact, redact_data, redact_url, redact_urls


def test_redact_replaces_every_secret_longest_first() -> None:
    assert redact("token abc and abcdef", ["abc", "abcdef", ""]) == f"token {MASK} and {MASK}"
    assert redact("nothing here", []) == "nothing here"


@pytest.mark.parametrize(("url", "shown"), [
    ("https://example.org/a.box", "https://example.org/a.box"),
    ("https://example.org/a.box?token=s3cret&x=1", "https://example.org/a.box?token=***&x=***"),
    ("https://user:pw@example.org/a.box", "https://***@example.org/a.box"),
    ("https://example.org/a.box#frag", "https://example.org/a.box#***"),
    ("https://example.org/a.box?s3cret", "https://example.org/a.box?***"),
])
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_urls_in_text() -> None:
    assert redact_urls("get http://u:p@h/x?k=v now") == "get http://***@h/x?k=*** now"


def test_printable_escapes_controls_but_keeps_lines() -> None:
    assert printable("a\x1b[2Jb\x07\r\n\tc\u202ed\x9b") == "a\\x1b[2Jb\\x07\\x0d\n\tc\\u202ed\\x9b"


def test_one_line_escapes_line_breaks_too() -> None:
    assert one_line("a\nhint: b\tc\x1b") == "a\\nhint: b\\tc\\x1b"


def test_redact_data_walks_json_shaped_data() -> None:
    plan = {"steps": [{"describe": "run curl -H tok-1", "n": 3, "ok": True, "none": None}],
            "tok-1": ("x tok-1",)}
    assert redact_data(plan, ["tok-1"]) == {"steps": [{"describe": f"run curl -H {MASK}", "n": 3, "ok": True,
                                                       "none": None}], MASK: [f"x {MASK}"]}
    assert redact_data(plan, []) is plan
