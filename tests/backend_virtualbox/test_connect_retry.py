"""A VBoxSVC that is shutting down refuses a client (it exits 5 s after its last one on
Linux): connecting asks again for a few seconds, then says what failed.  With a fake manager
here; on real VirtualBox in tests/backend_virtualbox/test_connect_retry_vbox.py."""

from __future__ import annotations

from typing import Any

import pytest

from hosted.backend.virtualbox import connection
from hosted.errors import BackendUnavailable


class Manager:
    """getVirtualBox() refuses ``refusals`` times, as a VBoxSVC that shuts down does."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.calls = 0

    def getVirtualBox(self) -> Any:
        self.calls += 1
        if self.calls <= self.refusals:
            raise RuntimeError("0x80004005 (Operation failed (NS_ERROR_FAILURE))")
        return type("VirtualBox", (), {"version": "7.2.22"})()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_refusal_is_asked_again_until_a_new_service_answers() -> None:
    mgr, clock = Manager(refusals=3), Clock()
    vbox = connection.virtualbox(mgr, sleep=clock.sleep, clock=lambda: clock.now)
    assert vbox.version == "7.2.22" and mgr.calls == 4
    assert clock.slept == [0.1, 0.2, 0.4]


def test_a_service_that_never_answers_is_an_error_after_the_retry_window() -> None:
    mgr, clock = Manager(refusals=10**6), Clock()
    refused = r"cannot reach VirtualBox's service \(VBoxSVC\).*NS_ERROR_FAILURE"
    with pytest.raises(BackendUnavailable, match=refused):
        connection.virtualbox(mgr, retry_seconds=5.0, sleep=clock.sleep, clock=lambda: clock.now)
    assert clock.now <= 5.0 and sum(clock.slept) > 3.0 and max(clock.slept) == 1.0
    assert mgr.calls == len(clock.slept) + 1


def test_no_retry_window_fails_at_once() -> None:
    mgr, clock = Manager(refusals=1), Clock()
    with pytest.raises(BackendUnavailable):
        connection.virtualbox(mgr, retry_seconds=0.0, sleep=clock.sleep, clock=lambda: clock.now)
    assert mgr.calls == 1 and clock.slept == []
