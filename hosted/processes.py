"""Whether a process is still running, for records a process leaves behind it (a lock's
holder, an interrupted operation's journal entry)."""

from __future__ import annotations

import os


def alive(pid: object) -> bool:
    """True unless ``pid`` is surely gone; unknown counts as running (never sweep too early)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid() or os.name == "nt":  # there, os.kill(pid, 0) would terminate it
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: it exists
        return True
    return True
