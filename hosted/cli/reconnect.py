"""The console script runs itself once more when VirtualBox's service refused its connection.

VBoxSVC exits 5 s after its last client leaves (on Linux and macOS, where the bindings are
XPCOM).  A client that connects in the few hundredths of a second while it shuts down is
refused, and that process's connection stays broken: no second try in the same process gets
through (measured: bench/README.md).  The next process starts a new VBoxSVC.  So when the
first call is refused (``ServiceRefused``, before any VirtualBox work), the command is run
again in place: the same interpreter, arguments and environment, after a pause that outlasts
the old service's last moments, at most once (``ENV`` marks the second run).

Not on Windows, where the bindings are COM and ``exec`` would start a second process beside
the first rather than replace it.
"""

from __future__ import annotations

import os
import sys
import time

ENV = "HOSTED_RECONNECTED"
PAUSE = 0.5  # seconds: a refusing VBoxSVC is gone well within this (measured: under 0.1 s)
NOTE = "VirtualBox's service (VBoxSVC) was stopping as hosted connected; running the command again"


def again() -> None:
    """Run this command again in a new process image, saying so on stderr (unless -q); returns
    only when it will not (it ran again already, or on Windows)."""
    if os.environ.get(ENV) or sys.platform == "win32":
        return
    from hosted.cli.console import OPTIONS, err_console

    if not OPTIONS.quiet:
        err_console.print(f"[dim]{NOTE}[/]")
    os.environ[ENV] = "1"
    time.sleep(PAUSE)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
