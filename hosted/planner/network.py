"""Planning the profile's networks (pure): addresses, MACs, link ports, and the host's steps.

For every network the profile's NICs attach to (``hosted.networks``): its range, checked
against what the host already has (a DHCP server or NAT Network with another range is an
error, one hosted did not create is never changed); ``ip: auto`` resolved to the lowest
free address (an address the network's DHCP server already fixes for the NIC is kept);
a stable MAC for every NIC of a machine with an address (its DHCP fixed address and its
cloud-init seed name the NIC by it); the two UDP ports of each link, read from whichever
end has them, else chosen at run time under the port lock (ReserveLinkPorts).  The host's
steps come out with a no-op saying why for each network that needs nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from hosted.backend.base import DhcpServerInfo
from hosted.errors import NetworkConflict
from hosted.facts import Facts
from hosted.model import Environment, MachineSpec, Nic, ObservedMachine
from hosted.networks import (
    Member,
    NetworkKey,
    declared_range,
    dhcp_layout,
    free_addresses,
    hostonly_allowed,
    members,
    reserved,
    stable_mac,
)
from hosted.steps import Noop, Step
from hosted.steps.network import ReserveLinkPorts, SetUpDhcpServer, SetUpNatNetwork

Slot = tuple[str, int]  # (machine, NIC slot)


@dataclass
class Resolved:
    """The profile's machines with their networks worked out, and what the host must do."""

    specs: dict[str, MachineSpec]
    host: list[Step] = field(default_factory=list)
    served: set[NetworkKey] = field(default_factory=set)  # hosted's DHCP server hands out the addresses
    labels: dict[Slot, str] = field(default_factory=dict)  # what each NIC with an address is on
    warnings: list[str] = field(default_factory=list)


def resolve(env: Environment, facts: Facts) -> Resolved:
    """Every machine of the profile, its NICs resolved; raises NetworkConflict."""
    nics: dict[Slot, Nic] = {(s.name, i): _forwarded(n) for s in env.machines
                             for i, n in enumerate(s.nics or ())}
    observed = {s.name: facts.find(env.name, s.name) for s in env.machines}
    _macs(env, nics, observed)
    out = Resolved({})
    for key, group in members(env.machines).items():
        group = [replace(m, nic=nics[(m.machine, m.slot)]) for m in group]
        network = declared_range(key, [m.nic for m in group])
        ours = key.kind != "natnetwork" or _natnetwork(env, key, network, group, facts, out)
        if key.kind == "link":
            _link(key, group, observed, facts, nics, out)
            group = [replace(m, nic=nics[(m.machine, m.slot)]) for m in group]
        if any(m.nic.ip for m in group):
            _addresses(env, key, network, group, facts, nics, out, ours)
        elif key.kind in ("internal", "hostonly"):
            out.host.append(Noop(machine="", subject=f"network {key.name}",
                                 reason=f"{key.label}: no addresses declared; left to the guests"))
    for (machine, slot), nic in nics.items():
        if nic.kind == "natnetwork" and nic.address:
            fwds = tuple(replace(f, guest_ip=f.guest_ip or nic.address) for f in nic.forwards)
            nics[(machine, slot)] = replace(nic, forwards=fwds)
    out.specs = {s.name: replace(s, nics=tuple(nics[(s.name, i)] for i in range(len(s.nics))))
                 if s.nics is not None else s for s in env.machines}
    return out


def _forwarded(nic: Nic) -> Nic:
    """Forwards in a NAT Network go to the machine's address there: one is picked if none is given."""
    return replace(nic, ip="auto") if nic.kind == "natnetwork" and nic.forwards and not nic.ip else nic


def _macs(env: Environment, nics: dict[Slot, Nic], observed: dict[str, ObservedMachine | None]) -> None:
    """A machine with an address on any NIC gets a MAC on every NIC: VirtualBox's where the
    adapter exists (never a change), else a stable one."""
    for spec in env.machines:
        if not any(nics[(spec.name, i)].ip for i in range(len(spec.nics or ()))):
            continue
        cur = observed[spec.name]
        for slot in range(len(spec.nics or ())):
            have = cur.nics[slot].mac if cur is not None and slot < len(cur.nics) else None
            nic = nics[(spec.name, slot)]
            nics[(spec.name, slot)] = replace(nic, mac=have or stable_mac(env.name, spec.name, slot))


def _addresses(env: Environment, key: NetworkKey, network: ipaddress.IPv4Network, group: list[Member],
               facts: Facts, nics: dict[Slot, Nic], out: Resolved, ours: bool) -> None:
    if key.kind == "hostonly" and not hostonly_allowed(network, _ranges(facts)):
        raise NetworkConflict(
            f"{key.label}: {network} is outside the ranges VirtualBox allows host-only networks here "
            f"({', '.join(facts.hostonly_ranges) or 'none'})",
            "use addresses in 192.168.56.0/21, or allow the range in /etc/vbox/networks.conf "
            "(a line such as `* 10.0.0.0/8 192.168.0.0/16`; see `hosted doctor`)")
    server, serves = _dhcp(env, key, network, facts, out, ours)
    taken = {m.nic.address for m in group if m.nic.address}
    if server is not None:
        mine = {m.nic.mac for m in group}
        taken |= {ip for mac, ip in server.fixed.items() if mac not in mine}
        taken |= {server.server}
        if not server.owned:
            taken |= _pool(server)
    for m in group:
        nic = m.nic
        if nic.ip == "auto":
            kept = server.fixed.get(nic.mac or "") if server is not None and server.owned else None
            ok = kept is not None and ipaddress.IPv4Address(kept) in network and kept not in taken \
                and kept not in reserved(key, network)
            address = kept if ok and kept else next(free_addresses(key, network, taken), None)
            if address is None:
                raise NetworkConflict(f"{key.label}: no free address left in {network} for {m.machine}",
                                      "declare a larger range (a shorter prefix) on one of its NICs")
            taken.add(address)
            nic = replace(nic, ip=f"{address}/{network.prefixlen}")
        nics[(m.machine, m.slot)] = nic
        out.labels[(m.machine, m.slot)] = key.name if key.kind != "link" else f"link to {nic.peer}"
    if serves:
        out.served.add(key)
        _dhcp_step(key, network, [replace(m, nic=nics[(m.machine, m.slot)]) for m in group], server, out)


def _ranges(facts: Facts) -> list[ipaddress.IPv4Network]:
    return [ipaddress.IPv4Network(r) for r in facts.hostonly_ranges]


def _pool(server: DhcpServerInfo) -> set[str]:
    try:
        lo, hi = ipaddress.IPv4Address(server.lower), ipaddress.IPv4Address(server.upper)
    except ValueError:
        return set()
    return {str(ipaddress.IPv4Address(i)) for i in range(int(lo), int(hi) + 1)}


def _server_range(server: DhcpServerInfo) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Interface(f"{server.server}/{server.netmask}").network
    except ValueError:
        return None


def _others(env: Environment, facts: Facts, kind: str, name: str) -> list[str]:
    """Machines attached to the network that are not this profile's (their range is not ours to change)."""
    profile = {m.uuid for s in env.machines if (m := facts.find(env.name, s.name)) is not None}
    return [a.vm_name for a in facts.networks.users(kind, name) if a.uuid not in profile]


def _conflict(key: NetworkKey, have: object, network: ipaddress.IPv4Network, what: str) -> NetworkConflict:
    return NetworkConflict(
        f"{key.label} is already used with {have} ({what}); the profile asks for {network}",
        f"use {have} in the profile, or another network name; hosted changes a range only when no "
        "other machine uses the network")


def _dhcp(env: Environment, key: NetworkKey, network: ipaddress.IPv4Network, facts: Facts, out: Resolved,
          ours: bool) -> tuple[DhcpServerInfo | None, bool]:
    """The network's DHCP server now, and whether hosted's serves the profile's addresses
    (``ours``: False for a NAT Network hosted did not create, whose DHCP it leaves alone)."""
    if key.kind == "link" or key.dhcp_name is None:
        return None, False
    if not ours:
        return facts.networks.dhcp_server(key.dhcp_name), False
    server = facts.networks.dhcp_server(key.dhcp_name)
    if server is None:
        return None, True
    have = _server_range(server)
    if not server.owned:
        if have != network:
            raise _conflict(key, have, network, "a DHCP server hosted did not create")
        out.warnings.append(f"{key.label}: its DHCP server is not hosted's; addresses are set inside the "
                            "guests instead")
        return server, False
    others = _others(env, facts, key.kind, key.name)
    if have != network and others:
        raise _conflict(key, have, network, "hosted's DHCP server, used by " + ", ".join(others))
    return server, True


def _natnetwork(env: Environment, key: NetworkKey, network: ipaddress.IPv4Network, group: list[Member],
                facts: Facts, out: Resolved) -> bool:
    """The NAT Network's step; False when it is not hosted's (then nothing of it is changed)."""
    current = facts.networks.natnetwork(key.name)
    if current is not None and not current.owned:
        if ipaddress.IPv4Network(current.cidr, strict=False) != network:
            raise _conflict(key, current.cidr, network, "a NAT Network hosted did not create")
        if any(m.nic.forwards for m in group):
            raise NetworkConflict(f"{key.label} was not created by hosted: hosted adds no port forwards "
                                  "to it", "use another network name for hosted's NAT Network, or remove "
                                  "the forwards")
        out.host.append(Noop(machine="", subject=f"network {key.name}",
                             reason=f"{key.label} is not hosted's: used as it is"))
        return False
    if current is None:
        out.host.append(SetUpNatNetwork(machine="", network=key.name, cidr=str(network),
                                        reason="no such NAT Network yet"))
    elif ipaddress.IPv4Network(current.cidr, strict=False) != network:
        others = _others(env, facts, "natnetwork", key.name)
        if others:
            raise _conflict(key, current.cidr, network, "used by " + ", ".join(others))
        out.host.append(SetUpNatNetwork(machine="", network=key.name, cidr=str(network), create=False,
                                        reason=f"its range is {current.cidr}"))
    else:
        out.host.append(Noop(machine="", subject=f"network {key.name}",
                             reason=f"{key.label} already {network}"))
    return True


def _dhcp_step(key: NetworkKey, network: ipaddress.IPv4Network, group: list[Member],
               server: DhcpServerInfo | None, out: Resolved) -> None:
    layout = dhcp_layout(key, network)
    fixed = tuple((m.nic.mac or "", m.nic.address or "", m.machine) for m in group if m.nic.address)
    step = SetUpDhcpServer(machine="", network=key.dhcp_name or "", label=key.label, server=layout.server,
                           netmask=layout.netmask, lower=layout.lower, upper=layout.upper,
                           gateway=layout.gateway, fixed=fixed, create=server is None)
    if server is None:
        out.host.append(replace(step, reason="the network has no DHCP server yet"))
        return
    same = (server.server, server.netmask, server.lower, server.upper) == \
        (layout.server, layout.netmask, layout.lower, layout.upper)
    missing = [f"{m} {ip}" for mac, ip, m in fixed if server.fixed.get(mac) != ip]
    if same and server.enabled and not missing:
        out.host.append(Noop(machine="", subject=f"dhcp {key.name}", reason=(
            f"the DHCP server of {key.label} already serves {network}; fixed: "
            + ", ".join(f"{m} {ip}" for _, ip, m in fixed))))
        return
    why = "its fixed addresses lack " + ", ".join(missing) if same else \
        f"it serves {server.server}/{server.netmask}, pool {server.lower}-{server.upper}"
    out.host.append(replace(step, reason=why))


def _link(key: NetworkKey, group: list[Member], observed: dict[str, ObservedMachine | None], facts: Facts,
          nics: dict[Slot, Nic], out: Resolved) -> None:
    """Both ends' UDP ports: kept where they agree, else mirrored from the end that has them."""
    if len(group) != 2:
        return  # the profile's checks allow exactly two ends
    ports = [_link_ports(observed.get(m.machine), m.slot) for m in group]
    (a, b), (pa, pb) = group, ports
    if pa is not None and pb is not None and pa == (pb[1], pb[0]):
        chosen: tuple[int, int] | None = pa
    else:
        chosen = pa if pa is not None else (pb[1], pb[0]) if pb is not None else None
    if chosen is None:
        taken = sorted({p for m in facts.machines for n in m.nics if n.kind == "link"
                        for p in (n.link_port, n.peer_port) if p is not None})
        out.host.append(ReserveLinkPorts(machine="", link=key.name, machines=(a.machine, b.machine),
                                         taken=tuple(taken), reason="neither end has its ports yet"))
        return
    nics[(a.machine, a.slot)] = replace(nics[(a.machine, a.slot)], link_port=chosen[0], peer_port=chosen[1])
    nics[(b.machine, b.slot)] = replace(nics[(b.machine, b.slot)], link_port=chosen[1], peer_port=chosen[0])
    out.host.append(Noop(machine="", subject=f"link {key.name}", reason=(
        f"link {a.machine} <-> {b.machine}: UDP 127.0.0.1:{chosen[0]} <-> 127.0.0.1:{chosen[1]}")))


def _link_ports(machine: ObservedMachine | None, slot: int) -> tuple[int, int] | None:
    if machine is None or slot >= len(machine.nics):
        return None
    nic = machine.nics[slot]
    if nic.kind != "link" or nic.link_port is None or nic.peer_port is None:
        return None
    return nic.link_port, nic.peer_port


def machines_in(resolved: Resolved, names: Sequence[str]) -> list[MachineSpec]:
    return [resolved.specs[n] for n in names if n in resolved.specs]
