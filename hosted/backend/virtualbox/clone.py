"""A machine from a template's base snapshot: a linked clone (a differencing disk
over the template's disk) or a full copy, then configured like a created machine."""

from __future__ import annotations

import contextlib
import os
import shutil
from typing import Any

from hosted.backend.virtualbox import driverless, journal
from hosted.backend.virtualbox import extradata as xd
from hosted.backend.virtualbox import template_store as ts
from hosted.backend.virtualbox.context import Ctx
from hosted.backend.virtualbox.create import check_name, find
from hosted.backend.virtualbox.edits import Allocate, Edit, apply_keys, set_serial_log
from hosted.backend.virtualbox.removal import remove_machine
from hosted.backend.virtualbox.session import locked
from hosted.backend.virtualbox.storage import ensure_dvd_drive
from hosted.backend.virtualbox.translate import wait_progress
from hosted.errors import ImageError, OperationFailed
from hosted.events import Emit
from hosted.model import MachineSpec, Tags

# A clone keeps the image's disk: ``disk_mb`` is for machines hosted makes empty.
CLONE_KEYS = tuple(k for k in MachineSpec.CONFIG_KEYS if k != "disk_mb")


def _template(ctx: Ctx, uuid: str) -> tuple[Any, Any]:
    """The template machine and its base snapshot, if it is a healthy template."""
    machine = find(ctx, uuid)
    if machine is None or not ts.is_template(machine):
        raise ImageError(f"no template machine {uuid}", "run `hosted up` again to import the image")
    problem, snapshot = ts.health(ctx, machine)  # not who uses it: that reads every machine
    if problem:
        raise ImageError(f"template '{machine.name}' is broken: {problem}",
                         "run `hosted up` again: a broken template is imported anew")
    return machine, snapshot


def clone(
    ctx: Ctx, template_uuid: str, spec: MachineSpec, tags: Tags, linked: bool, emit: Emit,
    allocate: Allocate,
) -> Any:
    template, snapshot = _template(ctx, template_uuid)
    check_name(ctx, spec.vm_name)
    target = ctx.api.create_machine(ctx.vbox, ctx.const, spec.vm_name, str(template.OSTypeId),
                                    ctx.api.architecture(ctx.const, template), spec.virtualbox.groups or ())
    folder = os.path.dirname(str(target.settingsFilePath))
    if os.path.exists(folder):
        raise OperationFailed(f"a folder is already at {folder}",
                              "move it away (no registered machine uses it), then run again")
    c = ctx.const
    options = [c.CloneOptions_Link] if linked else []
    what = f"{'linked' if linked else 'full'} clone of {template.name}"
    with journal.recorded("clone", folder, spec.vm_name):  # a kill from here on is swept later
        try:
            wait_progress(ctx, snapshot.machine.cloneTo(target, c.CloneMode_MachineState, options),
                          what, emit, spec.vm_name)
            # Tagged before it is registered, as create does: a crash in between must
            # not leave an untagged machine under the profile's name (NameConflict forever).
            xd.write_tags(target, tags)
            target.saveSettings()
            ctx.vbox.registerMachine(target)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)  # made by this call: it did not exist before
            raise
        try:
            with locked(ctx, target, write=True) as session:
                _configure(ctx, session.machine, spec, tags, template_uuid, emit, allocate)
        except BaseException:
            rollback(ctx, target, emit)
            raise
    return target


def _configure(
    ctx: Ctx, sm: Any, spec: MachineSpec, tags: Tags, template_uuid: str, emit: Emit,
    allocate: Allocate,
) -> None:
    edit = Edit(ctx, sm, emit, allocate, None)  # other machines' ports are read only for auto forwards
    # Undeclared keys keep the image's values (creating=False: no creation defaults).
    apply_keys(edit, spec, CLONE_KEYS, tags, creating=False)
    set_serial_log(edit)
    ensure_dvd_drive(ctx, sm)
    # The clone starts with a copy of the template's extradata.
    for key in (xd.TEMPLATE, xd.TEMPLATE_ID, xd.IMAGE_NAME):
        sm.setExtraData(key, "")
    sm.setExtraData(xd.TEMPLATE_OF, template_uuid)
    own = [str(a.medium.location) for a in ctx.array(sm, "mediumAttachments")
           if a.medium is not None and int(a.type) == int(ctx.const.DeviceType_HardDisk)]
    xd.write_media(sm, own)  # a linked clone's own disks are its differencing disks
    driverless.set_up_driverless(sm, ctx.driverless, emit, spec.name)


def rollback(ctx: Ctx, machine: Any, emit: Emit) -> None:
    """Undo a failed clone: unregister it and delete the disks attached to it, which this call
    made (a linked clone's differencing disks, a full clone's copies), and its settings."""
    with contextlib.suppress(OSError):
        os.remove(os.path.join(os.path.dirname(str(machine.settingsFilePath)), "serial.log"))
    remove_machine(ctx, machine, ctx.const.CleanupMode_DetachAllReturnHardDisksOnly, [], emit,
                   what="removing the half-made clone", quiet=True)
