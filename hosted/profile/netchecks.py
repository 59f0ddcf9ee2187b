"""Checks of the profile's networks, across machines.

A link names a machine of the profile that links back; the declared addresses of one
network lie in one range (a NAT Network's ``cidr``), none twice, none that the network
keeps for itself (gateway, DHCP server, the host's address); one NAT Network name has one
``cidr``.  Host ranges that depend on this host (host-only ranges) are the planner's.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from hosted.errors import ProfileError
from hosted.networks import NetworkKey, network_of, reserved
from hosted.profile import build, schema
from hosted.profile.source import Document, KeyPath, format_path

DHCP_PREFIX_MAX = 29


def _nics(merged: build.Merged) -> list[tuple[int, schema.NicEntry, KeyPath]]:
    entries: list[schema.NicEntry] = merged.get("nics") or []
    return [(i, e, (*merged.origin("nics"), i, build.nic_kind(e))) for i, e in enumerate(entries)]


def check_networks(doc: Document, machines: list[build.Merged]) -> Iterator[ProfileError]:
    names = [m.name for m in machines]
    yield from _links(doc, machines, names)
    seen: dict[NetworkKey, list[tuple[str, str, KeyPath]]] = {}  # key -> (machine, ip, path)
    cidrs: dict[str, tuple[str, KeyPath]] = {}
    for merged in machines:
        for _, entry, path in _nics(merged):
            nic = build.nic(entry)
            key = network_of(merged.name, nic)
            if key is None:
                continue
            if nic.kind == "natnetwork" and nic.cidr and nic.network:
                first = cidrs.setdefault(nic.network, (nic.cidr, (*path, "cidr")))
                if first[0] != nic.cidr:
                    yield doc.error((*path, "cidr"), f"NAT Network {nic.network!r} is {first[0]} at "
                                    f"{format_path(first[1])}, here {nic.cidr}",
                                    "Give every NIC on one NAT Network the same `cidr` (or leave it out "
                                    "where another NIC declares it).")
            if nic.ip and nic.ip != "auto":
                seen.setdefault(key, []).append((merged.name, nic.ip, (*path, "ip")))
    for key, addresses in seen.items():
        yield from _one_range(doc, key, addresses, cidrs)


def _links(doc: Document, machines: list[build.Merged], names: list[str]) -> Iterator[ProfileError]:
    peers = {m.name: [build.nic(e).peer for _, e, _ in _nics(m) if e.link is not None] for m in machines}
    for merged in machines:
        for _, entry, path in _nics(merged):
            if entry.link is None:
                continue
            peer = entry.link.peer
            where = (*path, "peer")
            if peer == merged.name:
                yield doc.error(where, "a link joins two different machines, not a machine to itself",
                                "Name another machine of the profile as `peer`.")
            elif peer not in names:
                yield doc.error(where, f"no machine named {peer!r} in the profile to link to",
                                "Machines of this profile: " + ", ".join(names) + ".")
            elif peers[merged.name].count(peer) > 1:
                yield doc.error(where, f"two links from {merged.name!r} to {peer!r}",
                                "Declare one link between two machines.")
            elif merged.name not in peers[peer]:
                yield doc.error(where, f"machine {peer!r} has no link back to {merged.name!r}",
                                f"Add `- link: {{peer: {merged.name}}}` to the nics of machine {peer!r}: "
                                "a link has two ends.")


def _one_range(doc: Document, key: NetworkKey, addresses: list[tuple[str, str, KeyPath]],
               cidrs: dict[str, tuple[str, KeyPath]]) -> Iterator[ProfileError]:
    fixed = cidrs.get(key.name) if key.kind == "natnetwork" else None
    first_machine, first_ip, first_path = addresses[0]
    network = ipaddress.IPv4Network(fixed[0]) if fixed else ipaddress.IPv4Interface(first_ip).network
    taken: dict[str, KeyPath] = {}
    for _, ip, path in addresses:
        iface = ipaddress.IPv4Interface(ip)
        if key.kind != "link" and iface.network.prefixlen > DHCP_PREFIX_MAX:
            yield doc.error(path, f"{ip}: {key.label} needs a prefix of at most /{DHCP_PREFIX_MAX}",
                            "Only a link may be as small as a /30; other networks need room for a DHCP "
                            "server, a gateway or the host.")
            continue
        if iface.network != network:
            origin = f"the NAT Network's cidr {network}" if fixed else \
                f"{first_ip} of machine {first_machine!r} ({format_path(first_path)})"
            yield doc.error(path, f"{ip} is not in the range of {key.label} ({network}), set by {origin}",
                            "Give every machine on one network an address in the same range, "
                            "with the same prefix.")
            continue
        holder = reserved(key, network).get(str(iface.ip))
        if holder is not None:
            yield doc.error(path, f"{iface.ip} on {key.label} is {holder}",
                            "Choose another address for the machine (or `ip: auto`).")
        elif str(iface.ip) in taken:
            yield doc.error(path, f"{iface.ip} is already the address of another NIC on {key.label} "
                            f"({format_path(taken[str(iface.ip)])})", "Give each machine its own address.")
        taken.setdefault(str(iface.ip), path)
