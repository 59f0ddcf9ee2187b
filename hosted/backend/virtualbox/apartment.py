"""COM apartments (Windows) and XPCOM threads: which thread may use which VirtualBox object.

pywin32 initialises COM on the thread that first imports ``pythoncom``, as a
single-threaded apartment (STA) unless ``sys.coinit_flags`` says otherwise.  An
object made in an STA may be called from that thread only: a worker thread of a
parallel ``up`` that calls it gets RPC_E_WRONG_THREAD.  So before the bindings
load pywin32, hosted asks for the multi-threaded apartment (MTA) for the whole
process: every thread that calls VirtualBox then joins the MTA (``initPerThread``
is ``CoInitializeEx(COINIT_MULTITHREADED)``) and may use every object, as XPCOM
threads do.

When something else loaded pywin32 first (hosted as a library inside a program
whose main thread is an STA), that choice is made: then each thread uses an
IVirtualBox of its own, made in its own apartment, and so are the objects it
gets from it.  ``Threads`` keeps those, and remembers which threads are set up.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

COINIT_MULTITHREADED = 0x0
COINIT_APARTMENTTHREADED = 0x2


def prefer_mta() -> bool:
    """Ask for the MTA before pywin32 is loaded; True when the threads of this process will
    share one apartment (always so under XPCOM, where there are no apartments)."""
    flags = getattr(sys, "coinit_flags", None)
    if "pythoncom" in sys.modules or flags is not None:
        # Too late, or chosen by the program hosted runs in: pywin32's default is an STA.
        return not (COINIT_APARTMENTTHREADED if flags is None else int(flags)) & COINIT_APARTMENTTHREADED
    sys.coinit_flags = COINIT_MULTITHREADED  # type: ignore[attr-defined]  # read by pythoncom's import
    return True


class Threads:
    """The threads that call VirtualBox: each set up once, each with the IVirtualBox it may use."""

    def __init__(self, mgr: Any, vbox: Any, shared: bool, own: Callable[[Any], tuple[Any, Any]]) -> None:
        self.mgr = mgr
        self.shared = shared  # one apartment for all (MTA, or XPCOM): ``vbox`` is everyone's
        self._home = threading.get_ident()  # the connecting thread: set up by loading the bindings
        self._vbox = vbox
        self._own = own  # mgr -> (what keeps it alive, a new IVirtualBox made on the calling thread)
        self._local = threading.local()

    def attach(self) -> None:
        """COM (CoInitializeEx) and XPCOM (AttachThread) expect each thread that calls
        VirtualBox to be set up once; the connecting thread already is."""
        if threading.get_ident() == self._home or getattr(self._local, "attached", False):
            return
        self.mgr.initPerThread()
        self._local.attached = True

    def vbox(self) -> Any:
        """The IVirtualBox the calling thread may use."""
        if self.shared or threading.get_ident() == self._home:
            return self._vbox
        mine = getattr(self._local, "vbox", None)
        if mine is None:
            self.attach()
            self._local.keep, mine = self._own(self.mgr)
            self._local.vbox = mine
        return mine

    def close(self) -> None:
        """Drop every thread's references (VirtualBox objects are released with them)."""
        self._vbox = None
        self._local = threading.local()
