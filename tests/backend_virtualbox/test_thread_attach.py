"""Each worker thread that calls VirtualBox is set up once (COM/XPCOM per-thread
init); the connecting thread is set up by the manager itself.  No VirtualBox needed."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from hosted.backend.virtualbox.apartment import Threads
from hosted.backend.virtualbox.translate import boundary


class Mgr:
    def __init__(self) -> None:
        self.inits: list[str] = []
        self.oXcptClass = RuntimeError

    def initPerThread(self) -> None:
        self.inits.append(threading.current_thread().name)


def test_worker_threads_are_attached_once_each_and_the_main_thread_never() -> None:
    mgr = Mgr()
    threads = Threads(mgr, None, True, lambda m: (None, None))
    ctx = SimpleNamespace(mgr=mgr, xcpt=RuntimeError, threads=threads)

    def calls() -> None:
        for _ in range(3):
            with boundary(ctx, "x"):  # type: ignore[arg-type]
                pass

    calls()
    threads = [threading.Thread(target=calls, name=f"w{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(mgr.inits) == ["w0", "w1"]
