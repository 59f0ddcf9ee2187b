"""The handler of an ``ansible:`` run: ansible-playbook from this host, with hosted's inventory."""

from __future__ import annotations

from hosted.errors import ProvisionError
from hosted.events import Event
from hosted.run.context import StepContext
from hosted.steps import RunAnsible


def run_ansible(step: RunAnsible, ctx: StepContext) -> None:
    from hosted.planner.labs import ANSIBLE_RECORD
    from hosted.provisioning.ansible import run_playbook

    failed = [f"{m}: {ctx.shared.machine_errors[m].message}" for m in step.machines
              if m in ctx.shared.machine_errors]
    if failed:
        raise ProvisionError(f"ansible {step.name}: not run, its machines failed ({'; '.join(failed)})",
                             "fix what failed (above), then run `hosted up` again", step=step.name)
    run = next((r for r in ctx.env.ansible if r.name == step.name), None)
    if run is None:
        raise ProvisionError(f"no ansible run {step.name!r} in the profile", "", step=step.name)
    machines = {m.label: m for m in ctx.backend.list_machines(ctx.env.name)}
    missing = [m for m in step.machines if m not in machines or not machines[m].power.is_on]
    if missing:
        raise ProvisionError(f"ansible {step.name}: {', '.join(missing)} not running", "run `hosted up`",
                             step=step.name)
    run_playbook(ctx.env, run, list(machines.values()), step.machines, ctx.emit)
    for name in step.machines:
        ctx.backend.record_provisioned(machines[name].uuid, ANSIBLE_RECORD + step.name, step.fingerprint)
    ctx.emit(Event("info", f"ansible {step.name}: done on {', '.join(step.machines)}"))
