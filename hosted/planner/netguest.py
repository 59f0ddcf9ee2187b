"""Planning what networks need of machines (pure): addresses and names inside the guests, a
network removed with its last machine, and machines that cannot start without the kernel driver.

Addresses hosted's DHCP server hands out need nothing in the guest; the others (links,
``static: true``, networks whose DHCP server is not hosted's) are set over SSH, and so are
the other machines' names (``hosts``).  A new machine with a cloud-init seed gets both from
its seed instead.  Each guest step records a fingerprint on the machine: unchanged and not
rebooted, it is a no-op.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace

from hosted.backend.base import MachineRecords, NetworkObject
from hosted.errors import DriverMissing
from hosted.facts import Facts
from hosted.model import DRIVER_NIC_KINDS, Environment, MachineSpec
from hosted.networks import HOSTONLY_PREFIX, mac_colons, network_of
from hosted.planner.model import MachinePlan
from hosted.planner.network import Resolved
from hosted.steps import Configure, Destroy, Noop, Resume, SetHostname, Start, Step
from hosted.steps.network import Address, RemoveNetwork, SetAddresses, WriteHosts


def guest_addresses(spec: MachineSpec, resolved: Resolved) -> tuple[list[Address], list[Step]]:
    """(addresses to set inside the guest, no-ops for those hosted's DHCP server hands out)."""
    todo: list[Address] = []
    noops: list[Step] = []
    for slot, nic in enumerate(spec.nics or ()):
        key = network_of(spec.name, nic)
        if key is None or not nic.ip or not nic.mac:
            continue
        on = resolved.labels.get((spec.name, slot), key.name)
        if key in resolved.served and not nic.static:
            noops.append(Noop(machine=spec.name, subject=f"address {on}", reason=(
                f"{nic.ip} on {on}: from hosted's DHCP server (fixed for {mac_colons(nic.mac)})")))
        else:
            todo.append((nic.mac, nic.ip, on))
    return todo, noops


def hosts_entries(spec: MachineSpec, specs: Sequence[MachineSpec]) -> tuple[tuple[str, str], ...]:
    """(address, name) of each other machine, on the first network of this machine's that it shares."""
    if not spec.hosts:
        return ()
    mine = [k for n in spec.nics or () if (k := network_of(spec.name, n)) is not None]
    entries = []
    for other in specs:
        if other.name == spec.name:
            continue
        theirs = {k: n.address for n in other.nics or () if (k := network_of(other.name, n)) and n.address}
        address = next((theirs[k] for k in mine if k in theirs), None)
        if address:
            entries.append((address, other.name))
    return tuple(entries)


def fingerprint(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def network_guest_steps(spec: MachineSpec, uuid: str | None, started: bool, seeded: bool, facts: Facts,
                        resolved: Resolved) -> list[Step]:
    """The guest steps of a machine's addresses and names (after the wait, before provisioning)."""
    todo, noops = guest_addresses(spec, resolved)
    entries = hosts_entries(spec, list(resolved.specs.values()))
    if seeded:
        seed = [Noop(machine=spec.name, subject="addresses", reason="addresses: in the cloud-init seed")] \
            if todo else []
        seed += [Noop(machine=spec.name, subject="names", reason="names: in the cloud-init seed")] \
            if entries else []
        seed += [Noop(machine=spec.name, subject="hostname",
                      reason=f"host name {spec.hostname}: in the cloud-init seed")] if spec.hostname else []
        return [*noops, *seed]
    records = facts.records.get(uuid or "", MachineRecords())
    steps: list[Step] = list(noops)
    if spec.hostname:
        fp = fingerprint(spec.hostname)
        why = _why(records.guest.get("hostname"), fp, started, uuid, "host name")
        steps.append(SetHostname(machine=spec.name, hostname=spec.hostname, fingerprint=fp, reason=why)
                     if why else Noop(machine=spec.name, subject="hostname",
                                      reason=f"host name already {spec.hostname} (recorded)"))
    if todo:
        fp = fingerprint(todo)
        why = _why(records.guest.get("addresses"), fp, started, uuid, "addresses")
        steps.append(SetAddresses(machine=spec.name, addresses=tuple(todo), fingerprint=fp, reason=why)
                     if why else Noop(machine=spec.name, subject="addresses",
                                      reason="addresses: already set in the guest (recorded)"))
    if entries:
        fp = fingerprint(entries)
        why = _why(records.guest.get("hosts"), fp, started, uuid, "names")
        steps.append(WriteHosts(machine=spec.name, entries=entries, fingerprint=fp, reason=why)
                     if why else Noop(machine=spec.name, subject="names",
                                      reason="names: already in the guest's /etc/hosts (recorded)"))
    return steps


def _why(recorded: str | None, fp: str, started: bool, uuid: str | None, what: str) -> str:
    if uuid is None or recorded is None:
        return f"{what} not set in this guest yet"
    if recorded != fp:
        return f"{what} changed since {'it was' if what == 'host name' else 'they were'} set"
    return "the machine boots: set again (idempotent)" if started else ""


def with_removals(env: Environment, facts: Facts, plans: list[MachinePlan],
                  resolved: Resolved) -> list[MachinePlan]:
    """A DHCP server or NAT Network hosted created goes with the last machine that leaves it
    (destroyed, or its NICs moved elsewhere), when the profile no longer uses it."""
    needed = {(k.kind, k.name) for s in resolved.specs.values() for n in s.nics or ()
              if (k := network_of(s.name, n)) is not None}
    leaving: dict[str, int] = {}  # machine uuid -> index of its plan
    for i, mp in enumerate(plans):
        if mp.uuid is None:
            continue
        if any(isinstance(s, Destroy) for s in mp.steps) or any(
                isinstance(s, Configure) and "nics" in s.keys for s in mp.steps):
            leaving[mp.uuid] = i
    extra: dict[int, list[Step]] = {}
    spec_of = {mp.uuid: mp for mp in plans}
    for kind, name, target, network, label in _owned(facts):
        users = facts.networks.users(kind, name)
        if (kind, name) in needed or not users:
            continue
        gone = [u.uuid for u in users if u.uuid in leaving and not _stays(spec_of[u.uuid], kind, name)]
        if len(gone) != len(users):
            continue
        last = max(leaving[u] for u in gone)
        extra.setdefault(last, []).append(RemoveNetwork(
            machine=plans[last].machine, target=target, network=network, label=label,
            reason="its last machine leaves it"))
    return [replace(mp, steps=(*mp.steps, *extra.get(i, ()))) for i, mp in enumerate(plans)]


def unused(facts: Facts, resolved: Resolved) -> list[Step]:
    """Steps of the host: networks hosted created that no machine uses and the profile does not
    need (their last machine went, and removing them then failed, or it went outside hosted)."""
    needed = {(k.kind, k.name) for s in resolved.specs.values() for n in s.nics or ()
              if (k := network_of(s.name, n)) is not None}
    return [RemoveNetwork(machine="", target=target, network=network, label=label,
                          reason="hosted created it and no machine uses it any more")
            for kind, name, target, network, label in _owned(facts)
            if (kind, name) not in needed and not facts.networks.users(kind, name)]


def _stays(mp: MachinePlan, kind: str, name: str) -> bool:
    if any(isinstance(s, Destroy) for s in mp.steps) or mp.spec is None:
        return False
    return any(n.kind == kind and name == (n.interface if kind == "hostonly" else n.network)
               for n in mp.spec.nics or ())


Owned = tuple[str, str, NetworkObject, str, str]


def _owned(facts: Facts) -> list[Owned]:
    """(attachment kind, name, what to remove, its VirtualBox name, label) of hosted's networks."""
    out: list[Owned] = []
    natnets = {n.name for n in facts.networks.natnetworks}
    for n in facts.networks.natnetworks:
        if n.owned:
            out.append(("natnetwork", n.name, "natnetwork", n.name, f"NAT Network {n.name}"))
    for d in facts.networks.dhcp:
        if not d.owned or d.network in natnets:
            continue
        if d.network.startswith(HOSTONLY_PREFIX):
            name = d.network.removeprefix(HOSTONLY_PREFIX)
            out.append(("hostonly", name, "dhcp", d.network, f"host-only interface {name}"))
        else:
            out.append(("internal", d.network, "dhcp", d.network, f"internal network {d.network}"))
    return out


def check_driver(facts: Facts, plans: Sequence[MachinePlan], warnings: list[str]) -> None:
    """Without the kernel driver, a machine with such NICs never starts: refuse before anything runs."""
    if not facts.driverless:
        return
    for mp in plans:
        needs = [f"{n.kind} ({n.network or n.interface or '-'})" for n in (mp.spec.nics or ()) if mp.spec
                 and n.kind in DRIVER_NIC_KINDS] if mp.spec is not None else []
        if not needs:
            continue
        what = ", ".join(needs)
        if any(isinstance(s, Start | Resume) for s in mp.steps):
            raise DriverMissing(
                f"machine {mp.machine!r} cannot start here: VirtualBox runs without its kernel driver, and "
                f"its NICs {what} need it",
                "NIC kinds internal, hostonly, bridged and natnetwork need the driver (`hosted doctor`); "
                "install and load it, or use nat and link NICs, or set `state: poweroff` for the machine "
                "(hosted then configures it without starting it)")
        warnings.append(f"{mp.machine}: its NICs {what} need VirtualBox's kernel driver, which this host "
                        "lacks: it cannot start here")
