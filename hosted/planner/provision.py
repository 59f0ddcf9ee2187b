"""Planning ``hosted provision``: every provisioning step again ("once" steps too), on
the machines that run; a machine that does not run is left alone and says so."""

from __future__ import annotations

from collections.abc import Sequence

from hosted.facts import Facts
from hosted.model import Environment, ObservedMachine
from hosted.planner.guest import UpOptions, guest_steps
from hosted.planner.model import Plan
from hosted.planner.power import per_machine, select
from hosted.steps import Noop, Step


def plan_provision(env: Environment, facts: Facts, names: Sequence[str] = ()) -> Plan:
    def steps(m: ObservedMachine) -> list[Step]:
        spec = env.machine(m.label)
        if spec is None:
            return [Noop(machine=m.label, subject="provision",
                         reason="no longer in the profile; `hosted up` destroys it")]
        if not m.power.is_on:
            return [Noop(machine=m.label, subject="provision",
                         reason=f"not running ({m.power.value}); `hosted up` starts and provisions it")]
        return guest_steps(spec, m.uuid, False, facts, UpOptions(force_provision=True))

    return per_machine(env, "provision", select(env, facts, names), steps)
