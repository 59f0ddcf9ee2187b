"""Importing an image as a template machine: an OVF/OVA through IAppliance, or a
machine built around a copy of a single disk image; then the base snapshot.

The user's files are only read: VirtualBox's appliance import copies the
disks, and a disk image is cloned (new UUID) into the template's folder.
"""

from __future__ import annotations

import contextlib
import os
import re
from typing import Any

from hosted.backend.base import TemplateSource
from hosted.backend.virtualbox import extradata as xd
from hosted.backend.virtualbox import journal
from hosted.backend.virtualbox import template_store as ts
from hosted.backend.virtualbox.context import Ctx
from hosted.backend.virtualbox.create import find
from hosted.backend.virtualbox.edits import DEFAULT_OS_TYPE
from hosted.backend.virtualbox.removal import remove_machine
from hosted.backend.virtualbox.session import locked
from hosted.backend.virtualbox.storage import delete_media_quietly, ensure_dvd_drive, set_boot_order
from hosted.backend.virtualbox.translate import wait_progress
from hosted.errors import ImageError
from hosted.events import Emit, Event

DISK_TEMPLATE_MEMORY_MB = 1024


def template_name(ctx: Ctx, source: TemplateSource) -> str:
    """``hosted-template-IMAGE-DIGEST12``, with a counter when that name or its folder is taken
    (a broken template still in use keeps its name)."""
    stem = ts.NAME_PREFIX + re.sub(r"[^A-Za-z0-9_.-]+", "-", source.image_name).strip("-") \
        + "-" + source.digest[:12]
    for n in range(1, 100):
        name = stem if n == 1 else f"{stem}-{n}"
        settings = str(ctx.vbox.composeMachineFilename(name, "", "", ""))
        if find(ctx, name) is None and not os.path.exists(os.path.dirname(settings)):
            return name
    raise ImageError(f"no free name for a template of '{source.image_name}'",
                     "remove old hosted-template-* machines or folders")


def import_template(ctx: Ctx, source: TemplateSource, emit: Emit) -> Any:
    if not os.path.isfile(source.path):
        raise ImageError(f"image file {source.path} does not exist", "fetch the image again")
    name = template_name(ctx, source)
    emit(Event("info", f"importing image '{source.image_name}' as template {name}"))
    folder = os.path.dirname(str(ctx.vbox.composeMachineFilename(name, "", "", "")))
    # VBoxSVC finishes an import its client no longer waits for: what a kill leaves is swept.
    with journal.recorded("template import", folder, name):
        machine = _import_ovf(ctx, source, name, emit) if source.kind == "ovf" \
            else _import_disk(ctx, source, name, emit)
        try:
            _finish(ctx, machine, source, emit)
        except BaseException:
            discard(ctx, machine, emit)
            raise
    return machine


def _import_ovf(ctx: Ctx, source: TemplateSource, name: str, emit: Emit) -> Any:
    appliance = ctx.vbox.createAppliance()
    label = os.path.basename(source.path)
    wait_progress(ctx, appliance.read(source.path), f"reading {label}", emit, name)
    appliance.interpret()
    for warning in list(appliance.getWarnings() or []):
        emit(Event("warning", f"{label}: {warning}", machine=name))
    systems = ctx.array(appliance, "virtualSystemDescriptions")
    if len(systems) != 1:
        raise ImageError(f"{label} describes {len(systems)} machines; hosted imports images of one",
                         "use an image with a single virtual system")
    description = systems[0]
    types, _refs, _ovf, values, extra = description.getDescription()
    values = list(values)
    for i, kind in enumerate(types):
        if int(kind) == int(ctx.const.VirtualSystemDescriptionType_Name):
            values[i] = name  # the disks then go into the template's own folder too
    description.setFinalValues([True] * len(values), values, list(extra))
    wait_progress(ctx, appliance.importMachines([]), f"importing {label}", emit, name)
    ids = ctx.array(appliance, "machines")
    if not ids:
        raise ImageError(f"importing {label} made no machine", "check that the image is a valid OVF")
    return ctx.vbox.findMachine(str(ids[0]))


def _import_disk(ctx: Ctx, source: TemplateSource, name: str, emit: Emit) -> Any:
    c = ctx.const
    machine = ctx.api.create_machine(ctx.vbox, c, name, source.os_type or DEFAULT_OS_TYPE, source.arch)
    machine.memorySize = DISK_TEMPLATE_MEMORY_MB
    nic = machine.getNetworkAdapter(0)
    nic.enabled = True
    nic.attachmentType = c.NetworkAttachmentType_NAT
    machine.saveSettings()
    ctx.vbox.registerMachine(machine)
    created: list[Any] = []
    try:
        disk = _copy_disk(ctx, source.path, os.path.dirname(str(machine.settingsFilePath)), name,
                          created, emit)
        with locked(ctx, machine, write=True) as session:
            sm = session.machine
            sm.addStorageController("SATA", c.StorageBus_SATA)
            sm.attachDevice("SATA", 0, 0, c.DeviceType_HardDisk, disk)
            ensure_dvd_drive(ctx, sm)
            set_boot_order(ctx, sm, has_disk=True)
    except BaseException:
        discard(ctx, machine, emit)
        delete_media_quietly(ctx, created, emit)
        raise
    return machine


def _copy_disk(ctx: Ctx, path: str, folder: str, name: str, created: list[Any], emit: Emit) -> Any:
    c = ctx.const
    user = ctx.vbox.openMedium(path, c.DeviceType_HardDisk, c.AccessMode_ReadOnly, False)
    try:
        target = ctx.vbox.createMedium("VDI", os.path.join(folder, f"{name}.vdi"),
                                       c.AccessMode_ReadWrite, c.DeviceType_HardDisk)
        created.append(target)
        progress = user.cloneTo(target, [c.MediumVariant_Standard], None)
        wait_progress(ctx, progress, f"copying {os.path.basename(path)}", emit, name)
    finally:
        with contextlib.suppress(ctx.xcpt):
            user.close()  # VirtualBox forgets the user's file; the file itself is untouched
    return target


def _finish(ctx: Ctx, machine: Any, source: TemplateSource, emit: Emit) -> None:
    """Tags, no NAT forwards (clones would clash on them), and the base snapshot, in one lock."""
    name = str(machine.name)
    description = (f"{ts.SNAPSHOT_MARK} {source.image_name} sha256:{source.digest}\n"
                   "The base of machines hosted clones from this image; deleting it breaks them.")
    with locked(ctx, machine, write=True, save=False) as session:
        sm = session.machine
        sm.setExtraData(xd.TEMPLATE, source.digest)
        sm.setExtraData(xd.TEMPLATE_ID, str(machine.id))
        sm.setExtraData(xd.IMAGE_NAME, source.image_name)
        for slot in range(ctx.max_nics(sm)):
            engine = sm.getNetworkAdapter(slot).NATEngine
            for rule in ctx.array(engine, "redirects"):
                engine.removeRedirect(str(rule).split(",")[0])
        sm.saveSettings()
        progress, _ = sm.takeSnapshot(ts.SNAPSHOT_NAME, description, True)
        wait_progress(ctx, progress, f"taking the base snapshot of {name}", emit, name)


def discard(ctx: Ctx, machine: Any, emit: Emit) -> None:
    """Undo a failed import: the machine, its disks and its settings (all made by this call)."""
    remove_machine(ctx, machine, ctx.const.CleanupMode_Full, [], emit,
                   what="removing the half-imported template", quiet=True)
