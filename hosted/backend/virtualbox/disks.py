"""Extra disks (``disks:``) on the machine's SATA controller, and shareable disks of an environment.

A machine's own extra disk is a VDI in its folder, ``VMNAME-NAME.vdi``, recorded in hosted's media
(destroy deletes it).  A shareable disk is one fixed-size VDI in ``ENV-shared/NAME.vdi`` beside
the machines, made once (``ensure_shared``, marked as hosted's in VirtualBox's global extra data
first) and attached to every machine that declares it; destroy deletes it with the last machine
that has it attached.  Each machine records its disks by name (``hosted/disks``).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from hosted.backend.virtualbox import extradata as xd
from hosted.backend.virtualbox.context import MB, Ctx
from hosted.backend.virtualbox.storage import machine_folder
from hosted.backend.virtualbox.translate import VBOX_E_OBJECT_NOT_FOUND, status_of, wait_progress
from hosted.errors import OperationFailed
from hosted.events import Emit
from hosted.model import Disk

CONTROLLER = "SATA"
# Shareable disks are decided under one lock: two machines destroyed at once must not both
# keep (or both delete) the disk they share.
SHARED_LOCK = threading.Lock()


def shared_path(ctx: Ctx, environment: str, name: str) -> str:
    folder = str(ctx.vbox.systemProperties.defaultMachineFolder)
    return os.path.join(folder, f"{environment}-shared", f"{name}.vdi")


def _open(ctx: Ctx, path: str) -> Any | None:
    c = ctx.const
    try:
        return ctx.vbox.openMedium(path, c.DeviceType_HardDisk, c.AccessMode_ReadWrite, False)
    except ctx.xcpt as exc:
        if status_of(ctx, exc) == VBOX_E_OBJECT_NOT_FOUND or not os.path.exists(path):
            return None
        raise


def _create(ctx: Ctx, path: str, disk: Disk, emit: Emit, label: str) -> Any:
    c = ctx.const
    if os.path.exists(path):
        raise OperationFailed(f"a disk file is already at {path}",
                              "move it away (no machine of hosted's uses it), then run again")
    medium = ctx.vbox.createMedium("VDI", path, c.AccessMode_ReadWrite, c.DeviceType_HardDisk)
    variant = [c.MediumVariant_Fixed] if disk.fixed or disk.shareable else [c.MediumVariant_Standard]
    how = "fixed-size" if disk.fixed or disk.shareable else "dynamic"
    wait_progress(ctx, medium.createBaseStorage(disk.size_mb * MB, variant),
                  f"creating the {disk.size_mb} MB {how} disk {disk.name}", emit, label)
    if disk.shareable:
        medium.type = c.MediumType_Shareable
    return medium


def ensure_shared(ctx: Ctx, environment: str, disk: Disk, emit: Emit) -> str:
    path = shared_path(ctx, environment, disk.name)
    with SHARED_LOCK:
        if _open(ctx, path) is None:
            ctx.vbox.setExtraData(xd.shared_disk_mark(environment, disk.name), path)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            _create(ctx, path, disk, emit, environment)
    return path


def _controller(ctx: Ctx, sm: Any) -> str:
    bus = int(ctx.const.StorageBus_SATA)
    for ctl in ctx.array(sm, "storageControllers"):
        if int(ctl.bus) == bus:
            return str(ctl.name)
    sm.addStorageController(CONTROLLER, ctx.const.StorageBus_SATA)
    return CONTROLLER


def _attachment(ctx: Ctx, sm: Any, path: str) -> Any | None:
    for att in ctx.array(sm, "mediumAttachments"):
        if att.medium is not None and int(att.type) == int(ctx.const.DeviceType_HardDisk) \
                and str(att.medium.base.location) == path:
            return att
    return None


def _free_port(ctx: Ctx, sm: Any, controller: str, want: int | None) -> int:
    used = {int(a.port) for a in ctx.array(sm, "mediumAttachments") if str(a.controller) == controller}
    if want is not None:
        return want
    return next(p for p in range(1, 30) if p not in used)


def set_disks(ctx: Ctx, sm: Any, disks: tuple[Disk, ...], environment: str, created: list[Any],
              emit: Emit) -> list[str]:
    """Attach (creating where needed) every declared disk; returns the paths of new own disks."""
    recorded = {name: xd.rebased(sm, path) for name, path in xd.read_json(sm, xd.DISKS, {}).items()}
    controller = _controller(ctx, sm)
    made: list[str] = []
    for disk in disks:
        path = shared_path(ctx, environment, disk.name) if disk.shareable else \
            recorded.get(disk.name) or os.path.join(machine_folder(sm), f"{sm.name}-{disk.name}.vdi")
        att = _attachment(ctx, sm, path)
        if att is None:
            medium = _open(ctx, path)
            if medium is None and disk.shareable:
                raise OperationFailed(f"the shareable disk {disk.name} does not exist yet",
                                      "run `hosted up` again: it is made before the machines")
            if medium is None:
                medium = _create(ctx, path, disk, emit, str(sm.name))
                created.append(medium)
                made.append(path)
            port = _free_port(ctx, sm, controller, disk.port)
            sm.attachDevice(controller, port, 0, ctx.const.DeviceType_HardDisk, medium)
            att = _attachment(ctx, sm, path)
        elif disk.port is not None and int(att.port) != disk.port:
            sm.detachDevice(str(att.controller), int(att.port), int(att.device))
            sm.attachDevice(controller, disk.port, 0, ctx.const.DeviceType_HardDisk, att.medium)
            att = _attachment(ctx, sm, path)
        if att is None:
            raise OperationFailed(f"disk {disk.name} did not attach to {sm.name}", "run `hosted up` again")
        _resize(ctx, sm, att, disk, emit)
        if bool(att.nonRotational) != disk.nonrotational:
            sm.nonRotationalDevice(str(att.controller), int(att.port), int(att.device), disk.nonrotational)
        recorded[disk.name] = path
    xd.write_json(sm, xd.DISKS, recorded)
    return made


def _resize(ctx: Ctx, sm: Any, att: Any, disk: Disk, emit: Emit) -> None:
    medium = att.medium
    have = int(medium.logicalSize) // MB
    if disk.size_mb > have and not disk.fixed and not disk.shareable:
        wait_progress(ctx, medium.resize(disk.size_mb * MB), f"growing disk {disk.name} to {disk.size_mb} MB",
                      emit, str(sm.name))
        medium.refreshState()


def read_disks(ctx: Ctx, machine: Any) -> tuple[Disk, ...]:
    recorded = {name: xd.rebased(machine, path) for name, path in xd.read_json(machine, xd.DISKS, {}).items()}
    if not recorded:
        return ()
    by_path = {path: name for name, path in recorded.items()}
    fixed, shareable = int(ctx.const.MediumVariant_Fixed), int(ctx.const.MediumType_Shareable)
    found = []
    for att in ctx.array(machine, "mediumAttachments"):
        medium = att.medium
        if medium is None or int(att.type) != int(ctx.const.DeviceType_HardDisk):
            continue
        name = by_path.get(str(medium.base.location))
        if name is None:
            continue
        variant = sum(int(v) for v in ctx.array(medium.base, "variant"))
        found.append(Disk(name=name, size_mb=int(medium.logicalSize) // MB, port=int(att.port),
                          fixed=bool(variant & fixed), nonrotational=bool(att.nonRotational),
                          shareable=int(medium.base.type) == shareable))
    return tuple(found)


def shared_paths(ctx: Ctx, machine: Any) -> dict[str, str]:
    """path -> name of the shareable disks the machine recorded."""
    tags = xd.read_tags(machine)
    recorded: dict[str, str] = xd.read_json(machine, xd.DISKS, {})
    return {path: name for name, path in recorded.items()
            if tags is not None and path == shared_path(ctx, tags.environment, name)}


def last_users_disks(ctx: Ctx, shared: dict[str, str], environment: str,
                     returned: list[Any]) -> tuple[list[Any], list[str]]:
    """Of the disks unregistering a machine returned: the shareable ones (``shared``: path -> name)
    no machine has attached any more (to delete, their marks cleared), and the names of those
    other machines still use."""
    gone, kept = [], []
    for disk in returned:
        name = shared.get(str(disk.location))
        if name is None:
            continue
        if ctx.array(disk, "machineIds"):
            kept.append(name)
        else:
            gone.append(disk)
            ctx.vbox.setExtraData(xd.shared_disk_mark(environment, name), "")
    return gone, kept
