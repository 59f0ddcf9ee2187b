"""Creating a machine: all of it, or (on failure) nothing left behind."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from hosted.backend.virtualbox import install
from hosted.backend.virtualbox.context import Ctx
from hosted.backend.virtualbox.edits import DEFAULT_OS_TYPE, Allocate, Edit, apply_keys, set_serial_log
from hosted.backend.virtualbox.session import locked
from hosted.backend.virtualbox.storage import delete_media_quietly, ensure_dvd_drive
from hosted.backend.virtualbox.tags import read_tags, write_tags
from hosted.backend.virtualbox.translate import VBOX_E_OBJECT_NOT_FOUND, status_of, wait_progress
from hosted.errors import NameConflict, OperationFailed
from hosted.events import Emit, Event
from hosted.model import MachineSpec, Tags


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
    """Create and register the bare machine, already tagged so it is never seen unowned."""
    machine = ctx.api.create_machine(ctx.vbox, ctx.const, spec.vm_name, spec.os_type or DEFAULT_OS_TYPE)
    write_tags(machine, tags)
    if ctx.driverless:
        emit(Event("warning", install.DRIVERLESS_WARNING, machine=spec.name))
        for key, value in install.DRIVERLESS_EXTRADATA:
            machine.setExtraData(key, value)
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
    machine = _skeleton(ctx, spec, tags, emit)
    edit: Edit | None = None
    try:
        with locked(ctx, machine, write=True) as session:
            edit = Edit(ctx, session.machine, emit, allocate, None)
            apply_keys(edit, spec, MachineSpec.CONFIG_KEYS, tags, creating=True)
            set_serial_log(edit)
            ensure_dvd_drive(ctx, edit.sm)
    except BaseException:
        rollback(ctx, machine, edit.created_media if edit else [], emit)
        raise
    return machine


def rollback(ctx: Ctx, machine: Any, media: list[Any], emit: Emit) -> None:
    """Undo a failed create: unregister, delete the media this call created and the settings."""
    path = str(machine.settingsFilePath)
    with contextlib.suppress(Exception):
        machine.unregister(ctx.const.CleanupMode_DetachAllReturnNone)
    delete_media_quietly(ctx, media, emit)
    with contextlib.suppress(Exception):
        wait_progress(ctx, machine.deleteConfig([]), "deleting the machine's settings", emit)
    delete_files(path)


def delete_files(settings_file: str) -> None:
    """The settings file and the machine folder, if nothing else is in it."""
    for name in (settings_file, settings_file + "-prev"):
        with contextlib.suppress(OSError):
            os.remove(name)
    remove_empty_folder(os.path.dirname(settings_file))


def remove_empty_folder(folder: str) -> None:
    for sub in ("Logs", ""):
        with contextlib.suppress(OSError):
            os.rmdir(os.path.join(folder, sub) if sub else folder)
