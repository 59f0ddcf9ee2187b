"""Disks and DVDs: hosted's own disk on SATA, the DVD image on IDE, boot order."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from hosted.backend.virtualbox.context import MB, Ctx
from hosted.backend.virtualbox.translate import wait_progress
from hosted.errors import OperationFailed
from hosted.events import Emit


def machine_folder(machine: Any) -> str:
    return os.path.dirname(str(machine.settingsFilePath))


def _controller(ctx: Ctx, sm: Any, name: str, bus: int) -> str:
    """The name of a controller on ``bus``, adding one called ``name`` if there is none."""
    for ctl in ctx.array(sm, "storageControllers"):
        if int(ctl.bus) == int(bus):
            return str(ctl.name)
    sm.addStorageController(name, bus)
    return name


def _free_slot(ctx: Ctx, sm: Any, controller: str, prefer: list[tuple[int, int]]) -> tuple[int, int]:
    used = {(int(a.port), int(a.device)) for a in ctx.array(sm, "mediumAttachments")
            if str(a.controller) == controller}
    for slot in prefer:
        if slot not in used:
            return slot
    raise OperationFailed(f"no free slot on storage controller '{controller}'",
                          "detach a device from the machine")


def owned_disk(ctx: Ctx, sm: Any, owned: list[str]) -> Any | None:
    """The attachment of the disk hosted created, if attached."""
    for att in ctx.array(sm, "mediumAttachments"):
        medium = att.medium
        if (att.type == ctx.const.DeviceType_HardDisk and medium is not None
                and str(medium.base.location) in owned):
            return att
    return None


def create_disk(ctx: Ctx, sm: Any, size_mb: int, created: list[Any], emit: Emit) -> str:
    """Create an empty VDI in the machine's folder and attach it; returns its path."""
    c = ctx.const
    path = os.path.join(machine_folder(sm), f"{sm.name}.vdi")
    if os.path.exists(path):
        raise OperationFailed(f"a disk file is already at {path}",
                              "move it away (it is not attached to this machine), then run again")
    medium = ctx.vbox.createMedium("VDI", path, c.AccessMode_ReadWrite, c.DeviceType_HardDisk)
    created.append(medium)
    progress = medium.createBaseStorage(size_mb * MB, [c.MediumVariant_Standard])
    wait_progress(ctx, progress, f"creating a {size_mb} MB disk", emit, str(sm.name))
    controller = _controller(ctx, sm, "SATA", c.StorageBus_SATA)
    port, device = _free_slot(ctx, sm, controller, [(p, 0) for p in range(30)])
    sm.attachDevice(controller, port, device, c.DeviceType_HardDisk, medium)
    return path


def grow_disk(ctx: Ctx, sm: Any, attachment: Any, size_mb: int, emit: Emit) -> None:
    medium = attachment.medium
    current = int(medium.logicalSize) // MB
    if size_mb == current:
        return
    if size_mb < current:
        raise OperationFailed(
            f"the disk is {current} MB; shrinking it to {size_mb} MB is not supported",
            "keep disk_mb at least the current size, or destroy and recreate the machine")
    wait_progress(ctx, medium.resize(size_mb * MB), f"growing the disk to {size_mb} MB", emit, str(sm.name))
    medium.refreshState()  # the medium reports its old size until its state is re-read


def set_disk(ctx: Ctx, sm: Any, size_mb: int, owned: list[str], created: list[Any], emit: Emit) -> list[str]:
    """Make hosted's disk ``size_mb`` big (create, or grow); returns hosted's media paths."""
    attachment = owned_disk(ctx, sm, owned)
    if attachment is None:
        return [*owned, create_disk(ctx, sm, size_mb, created, emit)]
    grow_disk(ctx, sm, attachment, size_mb, emit)
    return owned


def _dvd_drive(ctx: Ctx, sm: Any) -> tuple[str, int, int] | None:
    for att in ctx.array(sm, "mediumAttachments"):
        if att.type == ctx.const.DeviceType_DVD:
            return str(att.controller), int(att.port), int(att.device)
    return None


def ensure_dvd_drive(ctx: Ctx, sm: Any) -> tuple[str, int, int]:
    """An (empty) DVD drive, added on IDE if there is none: inserting an image is then a runtime change."""
    drive = _dvd_drive(ctx, sm)
    if drive is None:
        controller = _controller(ctx, sm, "IDE", ctx.const.StorageBus_IDE)
        port, device = _free_slot(ctx, sm, controller, [(1, 0), (1, 1), (0, 1), (0, 0)])
        sm.attachDeviceWithoutMedium(controller, port, device, ctx.const.DeviceType_DVD)
        drive = (controller, port, device)
    return drive


def set_dvd(ctx: Ctx, sm: Any, path: str | None, offline: bool) -> None:
    """Insert ``path`` (None: eject) into the DVD drive, adding a drive if there is none."""
    c = ctx.const
    medium = None
    if path is not None:
        if not os.path.isfile(path):
            raise OperationFailed(f"DVD image {path} does not exist", "check the dvd path in the profile")
        medium = ctx.vbox.openMedium(path, c.DeviceType_DVD, c.AccessMode_ReadOnly, False)
    if _dvd_drive(ctx, sm) is None and not offline:
        raise OperationFailed(f"'{sm.name}' has no DVD drive, and adding one needs it powered off",
                              "stop the machine, then apply again")
    drive = ensure_dvd_drive(ctx, sm)
    if medium is None:
        sm.unmountMedium(*drive, True)
    else:
        sm.mountMedium(*drive, medium, True)


def set_boot_order(ctx: Ctx, sm: Any, has_disk: bool) -> None:
    """Disk first when there is one (an empty disk falls through to the DVD), else the DVD."""
    c = ctx.const
    disk, dvd = c.DeviceType_HardDisk, c.DeviceType_DVD
    order = [disk, dvd] if has_disk else [dvd, disk]
    order += [c.DeviceType_Null, c.DeviceType_Null]
    for position, device in enumerate(order, start=1):
        sm.setBootOrder(position, device)


def delete_media_quietly(ctx: Ctx, media: list[Any], emit: Emit) -> None:
    """Roll back disks this call created; a failure here must not hide the original error."""
    for medium in media:
        with contextlib.suppress(Exception):
            wait_progress(ctx, medium.deleteStorage(), f"deleting {medium.location}", emit)


def disk_chain(medium: Any) -> Iterator[Any]:
    """``medium``, then its parents up to its base disk."""
    while medium is not None:
        yield medium
        medium = medium.parent


def forget_broken_chains(ctx: Ctx, disks: list[Any], folder: str) -> list[Any]:
    """Disks VirtualBox can delete; the others (a link of their chain is missing, e.g. a
    linked clone whose template's disk was deleted) are closed and their files inside the
    machine's ``folder`` removed by hand, since deleteConfig would fail on them."""
    deletable = []
    inaccessible = int(ctx.const.MediumState_Inaccessible)
    for disk in disks:  # children come before their parents
        if not any(int(m.refreshState()) == inaccessible for m in disk_chain(disk)):
            deletable.append(disk)
            continue
        location = str(disk.location)
        with contextlib.suppress(ctx.xcpt):
            disk.close()
        if location.startswith(folder + os.sep):
            with contextlib.suppress(OSError):
                os.remove(location)
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(location))
    return deletable
