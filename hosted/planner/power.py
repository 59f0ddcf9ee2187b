"""Planning halt, suspend, resume and destroy: idempotent, per machine, only the
environment's own machines.  A machine already in the wanted state gets a no-op
that says so."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hosted.facts import Facts
from hosted.facts import select as select  # where the planners (and `hosted.planner.select`) find it
from hosted.model import Environment, ObservedMachine, PowerState
from hosted.planner.model import MachinePlan, Plan
from hosted.planner.netguest import with_removals
from hosted.planner.network import Resolved
from hosted.steps import Destroy, Noop, Resume, Step, Stop, Suspend


def per_machine(env: Environment, operation: str, machines: Sequence[ObservedMachine],
                steps: Callable[[ObservedMachine], list[Step]]) -> Plan:
    return Plan(env.name, operation, tuple(
        MachinePlan(m.label, m.vm_name, m.uuid, tuple(steps(m)), env.machine(m.label)) for m in machines))


def plan_halt(env: Environment, facts: Facts, names: Sequence[str] = (), *, force: bool = False,
              timeout: float = 60.0) -> Plan:
    def steps(m: ObservedMachine) -> list[Step]:
        if m.power.is_off and m.power != PowerState.SAVED:
            return [Noop(machine=m.label, subject="state", reason=f"already {m.power.value}")]
        if m.power == PowerState.SAVED and not force:
            return [Noop(machine=m.label, subject="state",
                         reason="saved (suspended); `hosted halt --force` discards the saved state")]
        why = "discards the saved state (--force)" if m.power == PowerState.SAVED else ""
        return [Stop(machine=m.label, mode="poweroff" if force else "acpi", timeout=timeout, reason=why)]

    return per_machine(env, "halt", select(env, facts, names), steps)


def plan_suspend(env: Environment, facts: Facts, names: Sequence[str] = ()) -> Plan:
    def steps(m: ObservedMachine) -> list[Step]:
        if m.power == PowerState.SAVED:
            return [Noop(machine=m.label, subject="state", reason="already suspended")]
        if not m.power.is_on:
            return [Noop(machine=m.label, subject="state",
                         reason=f"not running ({m.power.value}); nothing to suspend")]
        return [Suspend(machine=m.label)]

    return per_machine(env, "suspend", select(env, facts, names), steps)


def plan_resume(env: Environment, facts: Facts, names: Sequence[str] = ()) -> Plan:
    def steps(m: ObservedMachine) -> list[Step]:
        if m.power == PowerState.RUNNING:
            return [Noop(machine=m.label, subject="state", reason="already running")]
        if m.power not in (PowerState.SAVED, PowerState.PAUSED):
            return [Noop(machine=m.label, subject="state",
                         reason=f"not suspended ({m.power.value}); `hosted up` starts it")]
        return [Resume(machine=m.label)]

    return per_machine(env, "resume", select(env, facts, names), steps)


def plan_destroy(env: Environment, facts: Facts, names: Sequence[str] = (),
                 reason: str = "asked for") -> Plan:
    """Each machine destroyed; a network hosted created goes with its last machine."""
    plans = destroy_steps(select(env, facts, names), reason, env)
    return Plan(env.name, "destroy", tuple(with_removals(env, facts, plans, Resolved({}))))


def destroy_steps(machines: Sequence[ObservedMachine], reason: str,
                  env: Environment | None = None) -> list[MachinePlan]:
    """A destroy (confirmed first) of each machine."""
    return [MachinePlan(m.label, m.vm_name, m.uuid,
                        (Destroy(machine=m.label, vm_name=m.vm_name, reason=reason),),
                        env.machine(m.label) if env is not None else None)
            for m in machines]
