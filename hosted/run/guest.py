"""Handlers of the guest steps: wait until ready, provision, take the baseline."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hosted import paths
from hosted.errors import ProvisionError, ReadinessTimeout, SshError
from hosted.events import Event
from hosted.run.context import StepContext
from hosted.snapshots import describe, find
from hosted.steps import Provision, RebootGuest, SetHostname, TakeBaseline, WaitReady

if TYPE_CHECKING:
    from hosted.ssh import SshSession


def wait_ready(step: WaitReady, ctx: StepContext) -> None:
    from hosted.readiness import wait_ready as wait
    from hosted.ssh import endpoint_of, target_for

    spec, uuid = ctx.need_spec(), ctx.need_uuid()
    forwards = ctx.forwards
    if forwards is None:  # not read by this run: as VirtualBox has them now (a restore sets them back)
        machine = ctx.backend.get_machine(uuid)
        forwards = () if machine is None else machine.forwards()
    endpoint = endpoint_of(forwards, spec)
    target = None if endpoint is None else target_for(ctx.env.name, spec.name, *endpoint, spec.ssh)
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


def set_hostname(step: SetHostname, ctx: StepContext) -> None:
    from hosted.guestnet import hostname_script
    from hosted.run.network import run_in_guest

    run_in_guest(ctx, "host name", hostname_script(step.hostname))
    ctx.backend.record_guest(ctx.need_uuid(), "hostname", step.fingerprint)


def reboot_guest(step: RebootGuest, ctx: StepContext) -> None:
    """Reboot from inside, then wait until the guest is ready in a new boot (its boot id changed)."""
    from hosted import guestnet

    before = _boot_id(ctx)
    session = _need_session(ctx, "reboot")
    status, tail = session.run(guestnet.REBOOT_COMMAND, privileged=True, timeout=60)
    if status != 0:
        raise ProvisionError(f"{ctx.machine}: the reboot after {step.after!r} failed (exit status {status})",
                             tail[-1500:] or "see the guest's system log", step=step.after)
    ctx.close()
    deadline = ctx.options.clock.now() + step.timeout
    while True:
        ctx.options.clock.sleep(2.0)
        wait_ready(WaitReady(machine=step.machine, timeout=step.timeout), ctx)
        if _boot_id(ctx) != before:
            ctx.emit(Event("info", f"rebooted after {step.after}", machine=ctx.machine))
            return
        ctx.close()  # the old boot's sshd, still up: wait for the new one
        if ctx.options.clock.now() > deadline:
            raise ReadinessTimeout(f"{ctx.machine}: the guest did not reboot within {step.timeout:.0f} s "
                                   f"after {step.after!r}", "see `hosted logs` for the serial console",
                                   stage="reboot")


def _need_session(ctx: StepContext, what: str) -> SshSession:
    if ctx.session is None:
        raise SshError(f"{ctx.machine}: not logged in to {what}", "run `hosted up` again")
    return ctx.session


def _boot_id(ctx: StepContext) -> str:
    from hosted import guestnet

    lines: list[str] = []
    status, _ = _need_session(ctx, "read the boot id").run(guestnet.BOOT_ID_COMMAND, on_output=lines.append,
                                                           timeout=30)
    return "\n".join(lines).strip() if status == 0 else ""


def take_baseline(step: TakeBaseline, ctx: StepContext) -> None:
    uuid = ctx.need_uuid()
    if find(ctx.backend.list_snapshots(uuid), step.name) is not None:
        ctx.emit(Event("info", f"the {step.name!r} snapshot was taken meanwhile; kept", machine=ctx.machine))
        return
    info = ctx.backend.take_snapshot(uuid, step.name, describe("baseline"), ctx.emit)
    live = " (live: it holds the running state)" if info.online else ""
    ctx.emit(Event("info", f"took the {step.name!r} snapshot{live}; `hosted reset` returns here",
                   machine=ctx.machine))

