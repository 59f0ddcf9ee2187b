"""``hosted reset``: back to the ``baseline`` snapshot, then to the profile's desired state.

``baseline: true`` in a profile makes ``hosted up`` call ``take_baseline_if_needed``
once a machine is ready and provisioned for the first time.
"""

from __future__ import annotations

from collections.abc import Sequence

from hosted.apply import AfterStart, Confirm, MachineResult
from hosted.backend.base import Backend, StartMode
from hosted.events import Emit, Event
from hosted.lifecycle import for_each, owned_machines
from hosted.model import Environment, MachineSpec, ObservedMachine, SnapshotInfo
from hosted.snapshots.core import DEFAULT_PARALLEL, confirm_discard, describe, find, resolve, restore_to

BASELINE = "baseline"


def take_baseline_if_needed(backend: Backend, uuid: str, label: str, emit: Emit) -> bool:
    """Take ``baseline`` unless the machine has one (made by anyone); True when taken."""
    if find(backend.list_snapshots(uuid), BASELINE) is not None:
        return False
    info = backend.take_snapshot(uuid, BASELINE, describe("baseline"), emit)
    live = " (live: it holds the running state)" if info.online else ""
    emit(Event("info", f"took the {BASELINE!r} snapshot{live}; `hosted reset` returns here", machine=label))
    return True


def reset(env: Environment, backend: Backend, names: Sequence[str], emit: Emit, *,
          yes: bool = False, confirm: Confirm | None = None, parallel: int = DEFAULT_PARALLEL,
          start_mode: StartMode = "headless", after_start: AfterStart | None = None) -> list[MachineResult]:
    """Power off if needed, restore ``baseline``, and bring each machine to its desired state.

    A machine without a baseline is left as it is and says so; if it was named,
    or no machine has one, nothing changes anywhere.
    """
    machines = owned_machines(env, backend, names)
    targets = resolve(machines, backend, lambda infos: find(infos, BASELINE),
                      f"{BASELINE!r} snapshot (`baseline: true` or `hosted snapshot save baseline`)",
                      bool(names))
    confirm_discard(list(targets.values()), "resetting to", yes, confirm)

    def act(m: ObservedMachine) -> str | None:
        if m.uuid not in targets:
            return f"no {BASELINE!r} snapshot; nothing was changed"
        snap = targets[m.uuid][1]
        restore_to(backend, m, snap, emit)
        spec = env.machine(m.tags.machine) if m.tags else None
        _to_desired(backend, spec, m.uuid, snap, emit, start_mode, after_start)
        return None

    return for_each(machines, f"reset to {BASELINE!r}", act, emit, parallel=parallel)


def _to_desired(backend: Backend, spec: MachineSpec | None, uuid: str, snap: SnapshotInfo, emit: Emit,
                start_mode: StartMode, after_start: AfterStart | None) -> None:
    if spec is None:
        emit(Event("info", "not in the profile any more: left as the baseline has it"))
        return
    if spec.state == "running":
        if snap.online:  # restoring a live snapshot leaves the machine saved
            backend.resume(uuid, emit)
        else:
            backend.start(uuid, start_mode, emit)
        if after_start is not None:
            after_start(spec, uuid, emit)
    elif snap.online:
        emit(Event("info", "the baseline holds a running state: left saved, as the profile wants it off",
                   machine=spec.name))
