"""hosted's debug log: one file per user (``hosted.paths.debug_log_path()``, in the user's private
state directory), kept small by rotation.

``--debug`` sends everything to it: the command line, every event, every backend
(VirtualBox) call with its duration and outcome (hosted.compose wraps the backend when the
``hosted.calls`` logger is enabled), and the traceback of any error.  A bug's traceback is
written there even without ``--debug``.  The file is the user's alone (0600 in a 0700
directory); calls are logged by name and machine, never with their settings, so secrets
such as an install password do not reach it.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

from hosted import __version__, paths

MAX_BYTES = 2_000_000
BACKUPS = 2
log = logging.getLogger("hosted")


def path() -> Path:
    return paths.debug_log_path()


def _open() -> Path:
    """The log, created 0600 in the user's private state directory, never through a symlink."""
    target = path()
    paths.open_private(target).close()
    return target


def start(argv: list[str]) -> Path:
    """Send hosted's loggers (events, backend calls) to the debug log, at DEBUG level."""
    target = _open()
    import logging.handlers  # only with --debug

    handler = logging.handlers.RotatingFileHandler(target, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                                   encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(threadName)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.debug("hosted %s (Python %s): %r", __version__, sys.version.split()[0], argv)
    return target


def stop() -> None:
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()
    log.setLevel(logging.NOTSET)


def record_traceback(what: str) -> Path:
    """The current exception's traceback in the debug log (used for bugs, with or without --debug)."""
    target = _open()
    if log.handlers:
        log.debug("%s\n%s", what, traceback.format_exc())
    else:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(f"hosted {__version__} {sys.argv!r}: {what}\n{traceback.format_exc()}\n")
    return target
