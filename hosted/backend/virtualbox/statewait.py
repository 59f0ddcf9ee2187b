"""Waiting for a machine's power state through VirtualBox's events.

A passive listener on IVirtualBox's event source gets MachineStateChanged
events as they happen, so a wait returns the moment the state changes instead
of on the next poll.  The state is read once after the listener is registered
(nothing can be missed in between) and again whenever no event came for a
while, in case an event was dropped.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

from hosted.backend.virtualbox.context import Ctx
from hosted.backend.virtualbox.observe import power_state
from hosted.model import PowerState

SLICE_MS = 1000  # how long one getEvent may block before the state is read again


def wait_power(ctx: Ctx, machine: Any, until: Collection[PowerState], timeout: float) -> PowerState:
    """Block until the machine's state is one of ``until`` or ``timeout`` seconds pass."""
    source = ctx.vbox.eventSource
    listener = source.createListener()
    source.registerListener(listener, [ctx.const.VBoxEventType_OnMachineStateChanged], False)
    try:
        return _wait(ctx, machine, source, listener, until, time.monotonic() + timeout)
    finally:
        source.unregisterListener(listener)


def _wait(ctx: Ctx, machine: Any, source: Any, listener: Any, until: Collection[PowerState],
          deadline: float) -> PowerState:
    uuid = str(machine.id)
    state = power_state(ctx, machine.state)
    while state not in until:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        event = source.getEvent(listener, int(min(remaining * 1000, SLICE_MS)))
        if event is None:
            state = power_state(ctx, machine.state)  # nothing for a while: read it again
            continue
        try:
            changed = ctx.mgr.queryInterface(event, "IMachineStateChangedEvent")
            if str(changed.machineId) == uuid:
                state = power_state(ctx, changed.state)
        finally:
            source.eventProcessed(listener, event)
    return state
