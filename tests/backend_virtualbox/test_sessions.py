"""Sessions are made and first used one thread at a time: the XPCOM bindings build an
object's description on its first use, and two threads doing that at once left a Session
without its methods ("has no attribute 'unlockMachine'", 2 runs in 40 on real VirtualBox
with 3 threads locking machines at once).  No VirtualBox needed: a fake whose first use
notices company."""

from __future__ import annotations

import threading
import time
from typing import Any

from hosted.backend.virtualbox.apartment import Threads
from hosted.backend.virtualbox.compat import Api
from hosted.backend.virtualbox.context import Ctx


class Session:
    def __init__(self, mgr: Mgr) -> None:
        self._mgr = mgr
        self._described = False

    @property
    def state(self) -> int:
        if not self._described:  # the bindings' first use: not safe with another thread at it
            with self._mgr.guard:
                self._mgr.inside += 1
                self._mgr.most = max(self._mgr.most, self._mgr.inside)
            time.sleep(0.02)
            with self._mgr.guard:
                self._mgr.inside -= 1
            self._described = True
        return 1


class Mgr:
    def __init__(self) -> None:
        self.guard = threading.Lock()
        self.inside = 0
        self.most = 0
        self.made = 0

    def getSessionObject(self) -> Any:
        with self.guard:
            self.made += 1
        return Session(self)


def test_sessions_are_first_used_one_thread_at_a_time() -> None:
    mgr = Mgr()
    ctx = Ctx(mgr=mgr, threads=Threads(mgr, None, True, lambda m: (None, None)), api=Api((7, 2)))
    start = threading.Barrier(6)
    made: list[Any] = []

    def lock_a_machine() -> None:
        start.wait()
        made.append(ctx.session())

    workers = [threading.Thread(target=lock_a_machine) for _ in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert mgr.made == 6 and len(made) == 6
    assert all(s._described for s in made)  # each was used before it was handed out
    assert mgr.most == 1  # never two first uses at once
