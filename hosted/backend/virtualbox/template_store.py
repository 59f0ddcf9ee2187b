"""Template machines: their tags, their health, who uses them, and deleting them.

A template is a machine tagged ``hosted/template`` = the image's digest, with
no environment tag, whose first snapshot's description starts with
``hosted-template:``.  Machines cloned from it carry ``hosted/template-of`` =
its uuid; the authoritative check that nobody uses it is VirtualBox's own: no
disk outside the template hangs off the template's disks.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from hosted.backend.base import TemplateInfo
from hosted.backend.virtualbox.context import Ctx
from hosted.backend.virtualbox.extradata import IMAGE_NAME, TEMPLATE, TEMPLATE_ID, TEMPLATE_OF
from hosted.backend.virtualbox.removal import remove_machine
from hosted.backend.virtualbox.storage import disk_chain
from hosted.errors import ImageError
from hosted.events import Emit

NAME_PREFIX = "hosted-template-"
SNAPSHOT_MARK = "hosted-template:"  # the base snapshot; list_snapshots never shows it
SNAPSHOT_NAME = "hosted-template"


def is_template(machine: Any) -> bool:
    if not machine.accessible:
        return os.path.basename(str(machine.settingsFilePath)).startswith(NAME_PREFIX)
    # Clones start as copies of the template's extradata; only the original names itself.
    return bool(str(machine.getExtraData(TEMPLATE) or "")) \
        and str(machine.getExtraData(TEMPLATE_ID) or "") == str(machine.id)


def base_snapshot(ctx: Ctx, machine: Any) -> Any | None:
    if int(machine.snapshotCount) == 0:
        return None
    root = machine.findSnapshot("")  # "" finds the root snapshot
    return root if str(root.description).startswith(SNAPSHOT_MARK) else None


def base_disks(ctx: Ctx, snapshot: Any) -> list[Any]:
    """The hard disks of the base snapshot (what clones are made from)."""
    return [a.medium for a in ctx.array(snapshot.machine, "mediumAttachments")
            if a.medium is not None and int(a.type) == int(ctx.const.DeviceType_HardDisk)]


def health(ctx: Ctx, machine: Any) -> tuple[str, Any | None]:
    """(why the template is broken, "" if it is not; its base snapshot, if found)."""
    if not machine.accessible:
        return "VirtualBox cannot read its settings", None
    snapshot = base_snapshot(ctx, machine)
    if snapshot is None:
        return "it has no base snapshot", None
    disks = base_disks(ctx, snapshot)
    if not disks:
        return "its base snapshot has no disk", snapshot
    for disk in disks:
        # A deleted base disk is noticed only when that medium itself is refreshed.
        for medium in disk_chain(disk):
            if int(medium.refreshState()) == int(ctx.const.MediumState_Inaccessible) \
                    or not os.path.isfile(str(medium.location)):
                return f"its disk {medium.location} is missing or unreadable", snapshot
    return "", snapshot


def _disk_users(ctx: Ctx, template_id: str, disks: list[Any]) -> set[str]:
    users: set[str] = set()
    stack = [child for disk in disks for child in ctx.array(disk, "children")]
    while stack:
        medium = stack.pop()
        users.update(str(u) for u in ctx.array(medium, "machineIds") if str(u) != template_id)
        stack.extend(ctx.array(medium, "children"))
    return users


def _tag_users(ctx: Ctx, machines: list[Any] | None = None) -> dict[str, set[str]]:
    """Template uuid -> machines tagged as cloned from it: one pass over the host's machines."""
    users: dict[str, set[str]] = {}
    for machine in ctx.array(ctx.vbox, "machines") if machines is None else machines:
        with contextlib.suppress(ctx.xcpt):
            template_id = str(machine.getExtraData(TEMPLATE_OF) or "") if machine.accessible else ""
            if template_id:
                users.setdefault(template_id, set()).add(str(machine.id))
    return users


def info(ctx: Ctx, machine: Any, tag_users: dict[str, set[str]] | None = None) -> TemplateInfo:
    """The template as read now; ``tag_users`` from ``_tag_users`` (read here when not given)."""
    uuid = str(machine.id)
    tagged = (_tag_users(ctx) if tag_users is None else tag_users).get(uuid, set()) - {uuid}
    if not machine.accessible:
        name = os.path.splitext(os.path.basename(str(machine.settingsFilePath)))[0]
        return TemplateInfo(uuid, name, "", "", False, "VirtualBox cannot read its settings",
                            tuple(sorted(tagged)))
    return _describe(ctx, machine, *health(ctx, machine), tagged)


def _describe(
    ctx: Ctx, machine: Any, problem: str, snapshot: Any | None, tagged: set[str] | None
) -> TemplateInfo:
    """An accessible template; ``tagged`` None: who uses it is not read (``users`` left empty)."""
    uuid = str(machine.id)
    users: set[str] = set()
    if tagged is not None:
        disks = base_disks(ctx, snapshot) if snapshot is not None else []
        users = tagged | _disk_users(ctx, uuid, [d.base for d in disks])
    return TemplateInfo(
        uuid=uuid, vm_name=str(machine.name), digest=str(machine.getExtraData(TEMPLATE) or ""),
        image_name=str(machine.getExtraData(IMAGE_NAME) or ""), healthy=not problem, problem=problem,
        users=tuple(sorted(users)), snapshot_id=str(snapshot.id) if snapshot is not None else "",
    )


def find(ctx: Ctx, digest: str) -> TemplateInfo | None:
    """A healthy template of the image ``digest`` (who uses it not read: that reads every
    machine), else a broken one with its users, else None."""
    broken: tuple[Any, str, Any | None] | None = None
    for machine in ctx.array(ctx.vbox, "machines"):
        with contextlib.suppress(ctx.xcpt):  # unregistered meanwhile
            # The digest first: one read for each machine that is no template of this image.
            if not machine.accessible or str(machine.getExtraData(TEMPLATE) or "") != digest \
                    or not is_template(machine):
                continue
            problem, snapshot = health(ctx, machine)
            if not problem:
                return _describe(ctx, machine, problem, snapshot, None)
            broken = broken or (machine, problem, snapshot)
    if broken is None:
        return None
    machine, problem, snapshot = broken
    return _describe(ctx, machine, problem, snapshot, _tag_users(ctx).get(str(machine.id), set()))


def list_templates(ctx: Ctx) -> list[TemplateInfo]:
    machines = ctx.array(ctx.vbox, "machines")
    templates = []
    for machine in machines:
        with contextlib.suppress(ctx.xcpt):  # unregistered meanwhile
            if is_template(machine):
                templates.append(machine)
    if not templates:
        return []
    # Who uses each template is read once for all of them, not once per template (that read
    # every machine's extradata for every template, on every clone).
    tag_users = _tag_users(ctx, machines)
    result = []
    for machine in templates:
        with contextlib.suppress(ctx.xcpt):
            result.append(info(ctx, machine, tag_users))
    return result


def delete(ctx: Ctx, machine: Any, emit: Emit) -> None:
    """Unregister the template and delete its disks and settings; refuses while it is used."""
    found = info(ctx, machine)
    name = found.vm_name
    if found.users:
        raise ImageError(
            f"template '{name}' is used by {len(found.users)} machine(s): {', '.join(found.users)}",
            "destroy the machines made from this image first; `hosted images prune` keeps used templates")
    if not machine.accessible:
        # UnregisterOnly refuses a machine with snapshots; this keeps every file.
        machine.unregister(ctx.const.CleanupMode_DetachAllReturnNone)
        return  # its files are unreadable to VirtualBox: left for the user to inspect
    remove_machine(ctx, machine, ctx.const.CleanupMode_Full, [], emit,
                   what=f"deleting template '{name}'", name=name)
