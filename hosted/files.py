"""Renames that Windows may refuse for a moment.

On Windows, replacing a file that another process has open (a second hosted
reading ``ports.json``, an editor, the search indexer) or that an antivirus
scanner is reading fails with "Access is denied" (winerror 5) or a sharing
violation (32, 33), although a moment later it succeeds.  ``replace`` and
``rename`` try again with a growing pause, for a bounded time, and only for
those errors: anything else (a missing directory, a full disk, a real
permission problem on Unix) is raised at once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

# ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION
TRANSIENT_WINERRORS = frozenset({5, 32, 33})
FIRST_PAUSE = 0.05  # seconds; doubled after each attempt, up to MAX_PAUSE
MAX_PAUSE = 0.5
PATIENCE = 5.0  # seconds in all before the error is raised

StrPath = str | os.PathLike[str]


def transient(exc: OSError) -> bool:
    """An error Windows gives while another process holds the file for a moment."""
    return getattr(exc, "winerror", None) in TRANSIENT_WINERRORS


def _retrying(move: Callable[[StrPath, StrPath], None], src: StrPath, dst: StrPath,
              sleep: Callable[[float], None], clock: Callable[[], float]) -> None:
    deadline = clock() + PATIENCE
    pause = FIRST_PAUSE
    while True:
        try:
            move(src, dst)
            return
        except OSError as exc:
            if not transient(exc) or clock() + pause > deadline:
                raise
        sleep(pause)
        pause = min(pause * 2, MAX_PAUSE)


def replace(src: StrPath, dst: StrPath, *, sleep: Callable[[float], None] = time.sleep,
            clock: Callable[[], float] = time.monotonic) -> None:
    """``os.replace``, tried again while Windows says someone else holds ``dst`` (or ``src``)."""
    _retrying(os.replace, src, dst, sleep, clock)


def rename(src: StrPath, dst: StrPath, *, sleep: Callable[[float], None] = time.sleep,
           clock: Callable[[], float] = time.monotonic) -> None:
    """``os.rename`` (a directory into a free place), tried again as ``replace`` is."""
    _retrying(os.rename, src, dst, sleep, clock)
