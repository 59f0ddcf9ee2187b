"""Power operations on an environment's machines: halt, suspend, resume.

Each is idempotent (halting a halted machine is a no-op with a message), acts
only on machines tagged for the environment, and reports per machine: one
machine's failure does not stop the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from hosted.apply import MachineResult
from hosted.backend.base import Backend
from hosted.errors import HostedError, MachineNotFound
from hosted.events import Emit, Event
from hosted.model import Environment, ObservedMachine, PowerState


def owned_machines(env: Environment, backend: Backend, names: Sequence[str] = ()) -> list[ObservedMachine]:
    """The environment's machines that exist, in profile order; unknown names are an error."""
    order = {m.name: i for i, m in enumerate(env.machines)}
    owned = [m for m in backend.list_machines(env.name) if m.tags is not None]
    owned.sort(key=lambda m: order.get(m.tags.machine if m.tags else "", len(order)))
    if not names:
        return owned
    found = [m for m in owned if m.tags is not None and m.tags.machine in names]
    missing = sorted(set(names) - {m.tags.machine for m in found if m.tags is not None})
    if missing:
        raise MachineNotFound(
            f"no machine named {', '.join(missing)} exists in environment {env.name!r}",
            "`hosted status` lists the environment's machines; `hosted up` creates them",
        )
    return found


Action = Callable[[ObservedMachine], str | None]  # returns a no-op reason, or None when it acted


def for_each(
    machines: Sequence[ObservedMachine], verb: str, action: Action, emit: Emit, *, parallel: int = 1
) -> list[MachineResult]:
    """Run ``action`` on each machine, ``parallel`` at a time; results in the machines' order."""
    def one(m: ObservedMachine) -> MachineResult:
        label = m.label
        result = MachineResult(label, m.vm_name, m.uuid)
        t0 = time.monotonic()
        try:
            noop = action(m)
        except HostedError as exc:
            result.error = exc
            emit(Event("warning", f"{verb} failed: {exc.message}", machine=label))
        else:
            if noop:
                emit(Event("step-noop", noop, machine=label))
            else:
                took = time.monotonic() - t0
                result.changed.append(verb)
                result.phases[verb] = took
                emit(Event("step-finished", verb, machine=label, seconds=took))
        return result

    if parallel <= 1 or len(machines) <= 1:
        return [one(m) for m in machines]
    with ThreadPoolExecutor(max_workers=min(parallel, len(machines)),
                            thread_name_prefix="hosted-each") as pool:
        return list(pool.map(one, machines))


PARALLEL = 4  # machines halted, suspended or resumed at once: each may wait for its guest


def halt(
    env: Environment, backend: Backend, names: Sequence[str], emit: Emit, *, force: bool = False,
    timeout: float = 60.0, parallel: int = PARALLEL,
) -> list[MachineResult]:
    def act(m: ObservedMachine) -> str | None:
        if m.power.is_off and m.power != PowerState.SAVED:
            return f"already {m.power.value}"
        if m.power == PowerState.SAVED and not force:
            return "saved (suspended); `hosted halt --force` discards the saved state"
        backend.stop(m.uuid, "poweroff" if force else "acpi", timeout, emit)
        return None

    return for_each(owned_machines(env, backend, names), "halt", act, emit, parallel=parallel)


def suspend(env: Environment, backend: Backend, names: Sequence[str], emit: Emit, *,
            parallel: int = PARALLEL) -> list[MachineResult]:
    def act(m: ObservedMachine) -> str | None:
        if m.power == PowerState.SAVED:
            return "already suspended"
        if not m.power.is_on:
            return f"not running ({m.power.value}); nothing to suspend"
        backend.save_state(m.uuid, emit)
        return None

    return for_each(owned_machines(env, backend, names), "suspend", act, emit, parallel=parallel)


def resume(env: Environment, backend: Backend, names: Sequence[str], emit: Emit, *,
           parallel: int = PARALLEL) -> list[MachineResult]:
    def act(m: ObservedMachine) -> str | None:
        if m.power == PowerState.RUNNING:
            return "already running"
        if m.power not in (PowerState.SAVED, PowerState.PAUSED):
            return f"not suspended ({m.power.value}); `hosted up` starts it"
        backend.resume(m.uuid, emit)
        return None

    return for_each(owned_machines(env, backend, names), "resume", act, emit, parallel=parallel)
