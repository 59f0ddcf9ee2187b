"""Handlers of the guest steps: wait until ready, provision, take the baseline."""

from __future__ import annotations

from hosted import paths
from hosted.errors import ProvisionError, SshError
from hosted.events import Event
from hosted.run.context import StepContext
from hosted.snapshots import describe, find
from hosted.steps import Provision, TakeBaseline, WaitReady


def wait_ready(step: WaitReady, ctx: StepContext) -> None:
    from hosted.readiness import wait_ready as wait
    from hosted.ssh import ssh_target

    spec, uuid = ctx.need_spec(), ctx.need_uuid()
    machine = ctx.backend.get_machine(uuid)  # as VirtualBox has it now: auto ports were just chosen
    target = None if machine is None else ssh_target(ctx.env.name, machine, spec)
    if target is None:
        raise ProvisionError(
            f"{spec.name}: cannot provision: no NAT forward to guest port {spec.ssh.port}",
            f"add a forward such as {{name: ssh, guest: {spec.ssh.port}, host: auto}} to a nat NIC",
        )
    ctx.close()
    ctx.session = wait(ctx.backend, uuid, spec.name, target, spec.ready, ctx.emit,
                       clock=ctx.options.clock, timings=ctx.timings, login_only=step.login_only)


def provision(step: Provision, ctx: StepContext) -> None:
    from hosted.provisioning import run_logged, step_fingerprint

    spec, uuid = ctx.need_spec(), ctx.need_uuid()
    which = next((p for p in spec.provision if p.name == step.step), None)
    if which is None:
        raise ProvisionError(f"{spec.name}: no provisioning step {step.step!r} in the profile", "",
                             step=step.step)
    fingerprint = step.fingerprint or step_fingerprint(which)  # "" when planned: its files unreadable
    if ctx.session is None:
        raise SshError(f"{spec.name}: not logged in to provision {step.step!r}", "run `hosted up` again")
    log = paths.machine_dir(ctx.env.name, spec.name) / "provision.log"
    run_logged(ctx.session, which, fingerprint, spec.name, ctx.emit, log, ctx.env.secrets)
    if which.run == "once":
        ctx.backend.record_provisioned(uuid, which.name, fingerprint)


def take_baseline(step: TakeBaseline, ctx: StepContext) -> None:
    uuid = ctx.need_uuid()
    if find(ctx.backend.list_snapshots(uuid), step.name) is not None:
        ctx.emit(Event("info", f"the {step.name!r} snapshot was taken meanwhile; kept", machine=ctx.machine))
        return
    info = ctx.backend.take_snapshot(uuid, step.name, describe("baseline"), ctx.emit)
    live = " (live: it holds the running state)" if info.online else ""
    ctx.emit(Event("info", f"took the {step.name!r} snapshot{live}; `hosted reset` returns here",
                   machine=ctx.machine))

