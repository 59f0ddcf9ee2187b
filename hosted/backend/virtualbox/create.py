"""Creating a machine: all of it, or (on failure) nothing left behind."""

from __future__ import annotations

import os
from typing import Any

from hosted.backend.virtualbox import driverless, journal
from hosted.backend.virtualbox.context import Ctx
from hosted.backend.virtualbox.edits import DEFAULT_OS_TYPE, Allocate, Edit, apply_keys, set_serial_log
from hosted.backend.virtualbox.extradata import read_tags, write_tags
from hosted.backend.virtualbox.removal import delete_files, remove_machine
from hosted.backend.virtualbox.session import locked
from hosted.backend.virtualbox.storage import ensure_dvd_drive
from hosted.backend.virtualbox.translate import VBOX_E_OBJECT_NOT_FOUND, status_of
from hosted.errors import NameConflict, OperationFailed
from hosted.events import Emit
from hosted.model import MachineSpec, Tags

DEFAULT_ARM_OS_TYPE = "Linux_arm64"  # an undeclared os_type on an arm64 host


def find(ctx: Ctx, ref: str) -> Any | None:
    """A registered machine by UUID or name, or None."""
    try:
        return ctx.vbox.findMachine(ref)
    except ctx.xcpt as exc:
        if status_of(ctx, exc) == VBOX_E_OBJECT_NOT_FOUND:
            return None
        raise


def check_name(ctx: Ctx, name: str) -> None:
    existing = find(ctx, name)
    if existing is None:
        return
    if not existing.accessible or read_tags(existing) is None:
        raise NameConflict(
            f"a VirtualBox machine named '{name}' already exists and is not managed by hosted",
            "rename or remove that machine, or set vm_name for this machine in the profile")
    raise OperationFailed(f"hosted's machine '{name}' already exists ({existing.id})",
                          "plan again: hosted configures existing machines instead of creating them")


def _skeleton(ctx: Ctx, spec: MachineSpec, tags: Tags, emit: Emit) -> Any:
    """Create and register the bare machine, already tagged so it is never seen unowned.

    Of the host's CPU family: VirtualBox on an Apple silicon Mac runs ARM machines only."""
    arch = ctx.api.host_architecture(ctx.vbox, ctx.const)
    os_type = spec.os_type or (DEFAULT_ARM_OS_TYPE if arch == "arm64" else DEFAULT_OS_TYPE)
    machine = ctx.api.create_machine(ctx.vbox, ctx.const, spec.vm_name, os_type, arch,
                                     groups=spec.virtualbox.groups or ())
    write_tags(machine, tags)
    driverless.set_up_driverless(machine, ctx.driverless, emit, spec.name)
    machine.saveSettings()
    try:
        # VirtualBox attaches media only to registered machines, so the
        # skeleton is registered first and configured under one lock after.
        ctx.vbox.registerMachine(machine)
    except BaseException:
        delete_files(str(machine.settingsFilePath))
        raise
    return machine


def create(ctx: Ctx, spec: MachineSpec, tags: Tags, emit: Emit, allocate: Allocate) -> Any:
    check_name(ctx, spec.vm_name)
    group = (spec.virtualbox.groups or ("",))[0]
    folder = os.path.dirname(str(ctx.vbox.composeMachineFilename(spec.vm_name, group, "", "")))
    with journal.recorded("create", folder, spec.vm_name):  # a disk made, then a kill: swept later
        machine = _skeleton(ctx, spec, tags, emit)
        edit: Edit | None = None
        try:
            with locked(ctx, machine, write=True) as session:
                edit = Edit(ctx, session.machine, emit, allocate, None)
                apply_keys(edit, spec, MachineSpec.CONFIG_KEYS, tags, creating=True)
                set_serial_log(edit)
                ensure_dvd_drive(ctx, edit.sm)
        except BaseException:
            remove_machine(ctx, machine, ctx.const.CleanupMode_DetachAllReturnNone,
                           edit.created_media if edit else [], emit,
                           what="deleting the machine's settings", quiet=True)
            raise
    return machine

