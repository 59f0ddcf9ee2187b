"""Leaving the process once a command is done, without the interpreter's finalisation.

Finalising ~650 modules and the VirtualBox bindings' objects costs 0.2-1.2 s of waiting
after every command (bench/README.md).  Nothing of that is needed: state files are written
(atomically) before a command returns, and what must still happen at exit is done here
first, in this order: the threads that are not daemons finish (as the interpreter would
wait for them), stdout and stderr are flushed, vboxapi's deinit runs (it lets VBoxSVC go
at once rather than when it notices the client is gone), the logging handlers (the debug
log) are flushed and closed, and the remaining atexit hooks run.  Then ``os._exit``.

Only the console script and ``python -m hosted`` leave this way; ``main()``, which tests
and embedding code call in-process, returns its code as before.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from typing import NoReturn

BROKEN_PIPE = 141  # as the shell reports a process that SIGPIPE ended (and run_guarded returns)


def leave(code: int) -> NoReturn:
    """Do what the interpreter would do at exit that matters, then exit with ``code`` at once."""
    _join_threads()
    code = _flush(code)
    deinit_vbox()
    logging.shutdown()
    atexit._run_exitfuncs()  # the rest (weakref finalizers, libraries' hooks); each runs once
    code = _flush(code)
    os._exit(code)


def deinit_vbox() -> None:
    """The VirtualBox bindings' deinit (the connection module's atexit hook), if this process
    connected."""
    connection = sys.modules.get("hosted.backend.virtualbox.connection")
    if connection is not None:
        connection.deinit()


def _join_threads() -> None:
    """As the interpreter does at exit: executors' idle workers are told to end, then every
    thread that is not a daemon is waited for (a run interrupted ends at its next step)."""
    pools = sys.modules.get("concurrent.futures.thread")
    if pools is not None:
        pools._python_exit()
    main = threading.main_thread()
    for thread in threading.enumerate():
        if thread is not main and not thread.daemon and thread.is_alive():
            thread.join()


def _flush(code: int) -> int:
    """stdout and stderr written out; a reader that left (``| head``) makes it 141 unless
    the command already failed."""
    for stream in (sys.stdout, sys.stderr):
        if stream is None:
            continue
        try:
            stream.flush()
        except BrokenPipeError:
            _to_devnull(stream)
            code = code or BROKEN_PIPE
        except (OSError, ValueError):  # closed by the command, or a write error: nothing to save
            _to_devnull(stream)
    return code


def _to_devnull(stream: object) -> None:
    """Whatever is still buffered goes nowhere instead of failing again."""
    try:
        fileno = stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fileno)
    finally:
        os.close(devnull)
