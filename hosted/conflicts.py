"""Host-port collisions, found before anything changes.

A fixed ``host:`` port that another VirtualBox machine already forwards from
(running or not: it will clash when both run) is refused at planning time,
naming the other machine.  Ports of the machine's own current forwards, and of
the other machines of the same environment that the profile is about to
rewrite, do not count.  Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hosted.errors import PortConflict
from hosted.model import Environment, ObservedMachine


def _owner(m: ObservedMachine) -> str:
    if m.tags is None:
        return f"VirtualBox machine {m.vm_name!r} (not managed by hosted)"
    tags = m.tags
    return f"VirtualBox machine {m.vm_name!r} (environment {tags.environment!r}, machine {tags.machine!r})"


def check_ports(
    environment: Environment, observed: Sequence[ObservedMachine], only: Iterable[str] = ()
) -> None:
    names = set(only)
    # Machines of this environment that the profile declares get their forwards
    # from the profile, so their current forwards are not obstacles.
    mine = {m.uuid for m in observed if m.tags is not None and m.tags.environment == environment.name
            and environment.machine(m.tags.machine) is not None and (not names or m.tags.machine in names)}
    others = [(m, f) for m in observed if m.uuid not in mine for f in m.forwards() if f.host is not None]
    for spec in environment.machines:
        if (names and spec.name not in names) or spec.nics is None:
            continue
        for want in (f for n in spec.nics for f in n.forwards if f.host is not None):
            clash = next((m for m, have in others if want.overlaps(have)), None)
            if clash is not None:
                raise PortConflict(
                    f"machine {spec.name!r}: forward {want.name!r} wants host port {want.host_ip}:{want.host}"
                    f"/{want.protocol}, which {_owner(clash)} already forwards from",
                    "pick another port in the profile, or `host: auto` to let hosted choose a free one",
                )
