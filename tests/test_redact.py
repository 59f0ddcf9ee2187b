"""hosted.redact: secrets, URL credentials and terminal control characters."""

from __future__ import annotations

import pytest

from hosted.redact import MASK, printable, redact, redact_url, redact_urls


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
