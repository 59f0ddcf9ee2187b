"""Ctrl-C during a parallel run (issue 16, 10): the main thread sees it at once, lanes not begun
never begin, and lanes under way stop before their next step.

``_thread.interrupt_main`` raises KeyboardInterrupt in the main thread as Ctrl-C does, but, like
Ctrl-C on Windows before Python 3.14, it cannot end a wait without a timeout: a runner that
waited for its workers that way would see it only when every machine was done.
"""

from __future__ import annotations

import _thread
import signal
import threading
import time
from collections.abc import Iterator

import pytest
from factories import env, spec

from hosted.events import Recorder
from hosted.run import runner
from hosted.run.context import RunOptions, Shared
from hosted.steps.machine import Start

SAFETY = 5.0  # seconds: a worker never blocks longer than this, whatever the runner does


@pytest.fixture
def ctrl_c() -> Iterator[None]:
    """Python's own Ctrl-C handler (interrupt_main does nothing without it), whatever ran before."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def test_ctrl_c_is_seen_at_once_and_lanes_not_begun_never_begin(ctrl_c: None) -> None:
    release = threading.Event()
    started: list[int] = []
    stopping = threading.Event()

    def work(item: int) -> int:
        started.append(item)
        release.wait(SAFETY)  # a VirtualBox call that takes its time
        return item

    def interrupt() -> None:
        while len(started) < 2:  # both lanes under way first
            time.sleep(0.01)
        _thread.interrupt_main()

    threading.Thread(target=interrupt, daemon=True).start()
    began = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            runner._each(list(range(6)), 2, work, stopping)
        took = time.monotonic() - began
    finally:
        release.set()
    assert took < SAFETY / 2, f"Ctrl-C was seen after {took:.1f} s, as the workers ended"
    assert sorted(started) == [0, 1], "only the two lanes under way ran; the four queued never began"
    assert stopping.is_set()


def test_without_ctrl_c_every_result_comes_back_in_order() -> None:
    assert runner._each(list(range(7)), 3, lambda i: i * i) == [i * i for i in range(7)]


def test_a_lane_under_way_stops_before_its_next_step() -> None:
    shared = Shared()
    shared.stopping.set()
    lane = runner._Lane("web", [Start(machine="web")], env(spec("web")), None, Recorder(),  # type: ignore[arg-type]
                        RunOptions(), shared)
    result = lane.run()
    assert isinstance(result.error, runner.Interrupted) and result.changed == []
    assert "interrupted before: start" in result.error.message
