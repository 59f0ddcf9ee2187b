"""Contract: wait_power returns as soon as the state is reached (from another
thread's start or stop), and after the timeout otherwise."""

from __future__ import annotations

import threading
import time

import pytest

from contract.conftest import Ctx
from hosted.errors import MachineNotFound
from hosted.model import PowerState

RUNNING = frozenset({PowerState.RUNNING})
OFF = frozenset({PowerState.POWEROFF, PowerState.ABORTED})


def later(seconds: float, fn: object) -> threading.Thread:
    def run() -> None:
        time.sleep(seconds)
        fn()  # type: ignore[operator]

    t = threading.Thread(target=run)
    t.start()
    return t


def test_wait_power_follows_start_and_stop_made_elsewhere(ctx: Ctx) -> None:
    m = ctx.create(ctx.spec(disk_mb=None))
    t = later(0.3, lambda: ctx.backend.start(m.uuid, "headless", ctx.emit))
    t0 = time.monotonic()
    assert ctx.backend.wait_power(m.uuid, RUNNING, 60) == PowerState.RUNNING
    took = time.monotonic() - t0
    t.join()
    assert 0.2 < took < 30, took
    t = later(0.3, lambda: ctx.backend.stop(m.uuid, "poweroff", 10, ctx.emit))
    assert ctx.backend.wait_power(m.uuid, OFF, 60) == PowerState.POWEROFF
    t.join()


def test_wait_power_times_out_with_the_current_state(ctx: Ctx) -> None:
    m = ctx.create(ctx.spec(disk_mb=None))
    t0 = time.monotonic()
    assert ctx.backend.wait_power(m.uuid, RUNNING, 0.5) == PowerState.POWEROFF
    assert 0.4 < time.monotonic() - t0 < 5
    assert ctx.backend.wait_power(m.uuid, OFF, 10) == PowerState.POWEROFF  # already there: at once


def test_wait_power_on_a_missing_machine(ctx: Ctx) -> None:
    with pytest.raises(MachineNotFound):
        ctx.backend.wait_power("00000000-0000-0000-0000-000000000000", RUNNING, 1)
