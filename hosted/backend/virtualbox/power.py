"""Starting, stopping, saving, resuming and destroying machines."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from hosted.backend.virtualbox import disks
from hosted.backend.virtualbox.context import Ctx
from hosted.backend.virtualbox.extradata import read_media, read_tags
from hosted.backend.virtualbox.observe import power_state
from hosted.backend.virtualbox.removal import delete_files
from hosted.backend.virtualbox.session import locked, wait_unlocked
from hosted.backend.virtualbox.statewait import wait_power
from hosted.backend.virtualbox.storage import disk_chain, forget_broken_chains
from hosted.backend.virtualbox.translate import wait_progress
from hosted.backend.virtualbox.unattended import aux_media, aux_prefix, forget_aux
from hosted.errors import OperationFailed
from hosted.events import Emit, Event
from hosted.model import PowerState

START_TIMEOUT = 120.0


def start(ctx: Ctx, machine: Any, mode: str, emit: Emit) -> None:
    name = str(machine.name)
    if power_state(ctx, machine.state).is_on:
        emit(Event("info", f"'{name}' is already running", machine=name))
        return
    session = ctx.session()
    progress = machine.launchVMProcess(session, mode, [])
    try:
        wait_progress(ctx, progress, f"starting '{name}'", emit, name, timeout=START_TIMEOUT)
    except OperationFailed as exc:
        exc.hint = f"see {os.path.join(str(machine.logFolder), 'VBox.log')} for why the VM did not start"
        raise
    finally:
        with contextlib.suppress(Exception):
            session.unlockMachine()


OFF_STATES = frozenset({PowerState.POWEROFF, PowerState.ABORTED, PowerState.SAVED})


def _wait_off(ctx: Ctx, machine: Any, timeout: float) -> bool:
    return wait_power(ctx, machine, OFF_STATES, timeout).is_off


def _power_down(ctx: Ctx, session: Any, name: str, emit: Emit) -> None:
    wait_progress(ctx, session.console.powerDown(), f"powering off '{name}'", emit, name)


def stop(ctx: Ctx, machine: Any, mode: str, timeout: float, emit: Emit) -> None:
    """ACPI power button, up to ``timeout`` s, then power off; or power off at once."""
    name = str(machine.name)
    state = power_state(ctx, machine.state)
    if state == PowerState.SAVED:
        with locked(ctx, machine, write=True, save=False) as session:
            session.machine.discardSavedState(True)
        return
    if state.is_off:
        emit(Event("info", f"'{name}' is already powered off", machine=name))
        return
    with locked(ctx, machine, write=False, save=False) as session:
        if mode == "acpi" and state == PowerState.RUNNING:
            session.console.powerButton()
            if _wait_off(ctx, machine, timeout):
                return
            emit(Event("warning", f"'{name}' did not power off within {timeout:.0f} s of the ACPI "
                                  "power button; powering it off", machine=name))
        if not power_state(ctx, machine.state).is_off:
            _power_down(ctx, session, name, emit)
    _wait_off(ctx, machine, 10.0)  # the state settles a moment after the progress completes
    wait_unlocked(ctx, machine)


def save_state(ctx: Ctx, machine: Any, emit: Emit) -> None:
    name = str(machine.name)
    if not power_state(ctx, machine.state).is_on:
        raise OperationFailed(f"'{name}' is not running, so there is no state to save",
                              "start the machine first")
    with locked(ctx, machine, write=False, save=False) as session:
        wait_progress(ctx, session.machine.saveState(), f"saving the state of '{name}'", emit, name)
    wait_unlocked(ctx, machine)


def resume(ctx: Ctx, machine: Any, emit: Emit) -> None:
    """A saved machine is started; a paused one unpaused."""
    state = power_state(ctx, machine.state)
    if state == PowerState.PAUSED:
        with locked(ctx, machine, write=False, save=False) as session:
            session.console.resume()
    elif state in (PowerState.SAVED, PowerState.POWEROFF, PowerState.ABORTED):
        start(ctx, machine, "headless", emit)


def destroy(ctx: Ctx, machine: Any, emit: Emit) -> None:
    """Power off, unregister, delete the settings and only the media hosted created (a shareable
    disk with the last machine that has it attached)."""
    if not power_state(ctx, machine.state).is_off:
        stop(ctx, machine, "poweroff", 0, emit)
    shared = disks.shared_paths(ctx, machine)
    if not shared:
        _destroy(ctx, machine, emit, shared)
        return
    with disks.SHARED_LOCK:
        _destroy(ctx, machine, emit, disks.shared_paths(ctx, machine))  # as it is under the lock


def _destroy(ctx: Ctx, machine: Any, emit: Emit, shared: dict[str, str]) -> None:
    name = str(machine.name)
    owned = read_media(machine)
    tags = read_tags(machine)
    settings_file = str(machine.settingsFilePath)
    serial = machine.getSerialPort(0)
    serial_log = str(serial.path) if serial.enabled else ""
    unattended = aux_prefix(machine), aux_media(ctx, machine)  # an unattended install's files and VISO
    returned = list(machine.unregister(ctx.const.CleanupMode_DetachAllReturnHardDisksOnly) or [])
    # Differencing children of hosted's disk (snapshots) go with it; anything else stays.
    # A linked clone owns its differencing disks, never the template's disk they hang off.
    mine = [d for d in returned if _owned_chain(d, owned)]
    keep = [str(d.location) for d in returned if not _owned_chain(d, owned) and str(d.location) not in shared]
    last, still_used = disks.last_users_disks(ctx, shared, tags.environment if tags else "", returned)
    mine = forget_broken_chains(ctx, mine, os.path.dirname(settings_file)) + last
    wait_progress(ctx, machine.deleteConfig(mine), f"deleting '{name}'", emit, name)
    if keep:
        emit(Event("info", f"kept disks hosted did not create: {', '.join(keep)}", machine=name))
    if still_used:
        emit(Event("info", f"kept shareable disks other machines use: {', '.join(still_used)}",
                   machine=name))
    if serial_log and os.path.dirname(serial_log) == os.path.dirname(settings_file):
        with contextlib.suppress(OSError):
            os.remove(serial_log)
    forget_aux(unattended[1], unattended[0])
    delete_files(settings_file)


def _owned_chain(disk: Any, owned: list[str]) -> bool:
    """Is ``disk``, or a disk between it and its base, one hosted created for this machine?"""
    return any(str(d.location) in owned for d in disk_chain(disk))
