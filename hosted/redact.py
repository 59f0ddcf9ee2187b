"""Keeping secrets out of what hosted writes, and terminal controls out of what it shows.

* ``redact(text, secrets)``: every secret value replaced by ``***``.  A
  profile's secrets are ``Environment.secrets``: the values of the ``${VAR}``
  variables it declares secret (see docs/profile.md, "Secrets").
* ``redact_data(data, secrets)``: the same through every string (and key) of
  JSON-shaped data, for ``--json`` output such as a plan or a status.
* ``redact_url(url)``: a URL without its user name, password, query values and
  fragment, which is where download tokens live.
* ``printable(text)``: control and escape characters (and Unicode bidi
  overrides) shown as ``\\x1b``-style escapes, so text from a profile or a
  bundle can never move the cursor, retitle the window or hide what follows.
* ``one_line(text)``: the same, and newlines and tabs too, for a value quoted
  inside a one-line message (a key with a newline must not print a fake
  "hint:" line of its own).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MASK = "***"
# C0 controls but tab and newline, DEL, C1 controls, and the bidi embeddings/overrides/isolates.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKING = re.compile("[\t\n]")
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret in ``secrets`` replaced by ``***`` (longest first)."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def redact_data(data: Any, secrets: Iterable[str]) -> Any:
    """A copy of ``data`` (dicts, lists, tuples, strings, numbers) with ``redact`` applied to
    every string in it, keys included; other values are returned as they are."""
    found = tuple(secrets)
    if not any(found):
        return data

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return redact(value, found)
        if isinstance(value, dict):
            return {walk(k): walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [walk(v) for v in value]
        return value

    return walk(data)


def redact_url(url: str) -> str:
    """``url`` without credentials: user info, query values and fragment become ``***``."""
    from urllib.parse import urlsplit, urlunsplit  # when there is a URL to redact

    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        netloc = MASK + "@" + netloc.rsplit("@", 1)[1]
    query = "&".join(f"{pair.split('=', 1)[0]}={MASK}" if "=" in pair else MASK
                     for pair in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, MASK if parts.fragment else ""))


def redact_urls(text: str) -> str:
    """``text`` with every URL in it passed through ``redact_url``."""
    return _URL.sub(lambda m: redact_url(m.group(0)), text)


def printable(text: str) -> str:
    """``text`` with control characters (but newline and tab) shown as escapes such as ``\\x1b``."""
    return _UNPRINTABLE.sub(_escape, text)


def one_line(text: str) -> str:
    """``printable(text)`` with tab and newline shown as ``\\t`` and ``\\n`` too."""
    return _LINE_BREAKING.sub(lambda m: repr(m.group(0))[1:-1], printable(text))


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
