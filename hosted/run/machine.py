"""Handlers of the machine steps: create, configure, power, destroy."""

from __future__ import annotations

import contextlib
import shutil

from hosted import paths
from hosted.backend.base import INSTALL_PENDING
from hosted.errors import HostedError, ImageError, PortConflict
from hosted.events import Event
from hosted.run.context import StepContext
from hosted.steps import Configure, Create, Destroy, Resume, SetUpSharedDisk, Start, Stop, Suspend


def create(step: Create, ctx: StepContext) -> None:
    spec = ctx.need_spec()
    ctx.shared.check_disks(spec)
    if step.install and spec.disk_mb is None:
        raise ImageError(f"{spec.name}: image {spec.image!r} is an installer ISO and the machine has no disk",
                         "add `disk:` (e.g. `disk: 20G`) to the machine: the OS is installed on it")
    made = ctx.backend.create_machine(spec, ctx.tags(), ctx.emit)
    ctx.uuid, ctx.created, ctx.forwards = made.uuid, True, made.forwards()
    if step.install:
        try:
            ctx.backend.record_install(made.uuid, INSTALL_PENDING)
        except HostedError:
            remove_created(ctx)
            raise


def configure(step: Configure, ctx: StepContext) -> None:
    if "disks" in step.keys:
        ctx.shared.check_disks(ctx.need_spec())
    done = ctx.backend.configure(ctx.need_uuid(), ctx.need_spec(), step.keys, ctx.tags(), ctx.emit)
    ctx.forwards = done.forwards()


def start(step: Start, ctx: StepContext) -> None:
    _check_listeners(ctx)
    ctx.backend.start(ctx.need_uuid(), "gui" if step.gui else ctx.options.start_mode, ctx.emit)


def stop(step: Stop, ctx: StepContext) -> None:
    ctx.close()  # a session to a guest that goes down is no use
    ctx.backend.stop(ctx.need_uuid(), step.mode, step.timeout, ctx.emit)


def suspend(step: Suspend, ctx: StepContext) -> None:
    ctx.close()
    ctx.backend.save_state(ctx.need_uuid(), ctx.emit)


def resume(step: Resume, ctx: StepContext) -> None:
    ctx.backend.resume(ctx.need_uuid(), ctx.emit)


def destroy(step: Destroy, ctx: StepContext) -> None:
    ctx.close()
    ctx.backend.destroy(ctx.need_uuid(), ctx.emit)
    # The machine's pinned host keys and logs go with it: a machine made again
    # under the same name is a new host.
    shutil.rmtree(paths.machine_dir(ctx.env.name, step.machine), ignore_errors=True)


def remove_created(ctx: StepContext) -> None:
    """Remove the machine this run just created (nothing of the user's is in it yet)."""
    if not ctx.created or ctx.uuid is None:
        return
    try:
        ctx.backend.destroy(ctx.uuid, ctx.emit)
    except HostedError as exc:
        ctx.emit(Event("warning", f"could not remove the half-made machine: {exc.message}",
                       machine=ctx.machine))
        return
    with contextlib.suppress(OSError):
        shutil.rmtree(paths.machine_dir(ctx.env.name, ctx.machine), ignore_errors=True)
    ctx.uuid, ctx.created, ctx.forwards = None, False, None


def _check_listeners(ctx: StepContext) -> None:
    """A fixed forward whose host port another program holds would fail silently
    inside VirtualBox's NAT: refuse to start instead, naming the port."""
    from hosted.ports import port_is_listening  # sockets: only for a start, not for halt or destroy

    for f in ctx.spec.forwards() if ctx.spec is not None else ():
        if f.host is not None and port_is_listening(f.host_ip, f.host, f.protocol):
            raise PortConflict(
                f"{ctx.machine}: host port {f.host_ip}:{f.host} (forward {f.name!r}) is "
                "already in use by another program",
                "stop that program, or change the forward's host port (or `host: auto`) in the profile",
            )


def set_up_shared_disk(step: SetUpSharedDisk, ctx: StepContext) -> None:
    spec = next(d for m in ctx.env.machines for d in m.disks or () if d.shareable and d.name == step.disk)
    location = ctx.backend.ensure_shared_disk(ctx.env.name, spec, ctx.emit)
    ctx.emit(Event("info", f"shareable disk {step.disk}: {location}"))
