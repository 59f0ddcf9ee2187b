"""Networks as hosted sees them: which NICs share one, its range, the addresses it keeps for
itself, and the layout of the DHCP server hosted runs on it.  Pure: shared by the profile's
checks and the planner.

A network is what a NIC attaches to: an internal network (by name), a host-only interface,
a NAT Network (by name), or the link between two machines.  Machines on the same network
reach each other; their declared addresses must lie in one range.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from hosted.model import MachineSpec, Nic

NetworkKind = str  # "internal", "hostonly", "natnetwork", "link"
HOSTONLY_PREFIX = "HostInterfaceNetworking-"  # VirtualBox's name of a host-only interface's network
DEFAULT_HOSTONLY = "192.168.56.0/24"  # VirtualBox's own vboxnet0
DEFAULT_NATNETWORK = "10.0.2.0/24"
# What VirtualBox allows host-only interfaces on Linux (and macOS) without /etc/vbox/networks.conf.
DEFAULT_HOSTONLY_RANGES = ("192.168.56.0/21",)
NETWORKS_CONF = "/etc/vbox/networks.conf"
VIRTUALBOX_OUI = "080027"


@dataclass(frozen=True, order=True)
class NetworkKey:
    """A network that machines share, by kind and name."""
    kind: NetworkKind
    name: str  # internal network / NAT Network name, host-only interface, or "a--b" for a link

    @property
    def label(self) -> str:
        return {"internal": "internal network", "hostonly": "host-only interface",
                "natnetwork": "NAT Network", "link": "link"}[self.kind] + f" {self.name}"

    @property
    def dhcp_name(self) -> str | None:
        """The network's name for VirtualBox's DHCP servers (None: a link has none)."""
        if self.kind == "hostonly":
            return HOSTONLY_PREFIX + self.name
        return None if self.kind == "link" else self.name


def link_name(a: str, b: str) -> str:
    return "--".join(sorted((a, b)))


def network_of(machine: str, nic: Nic) -> NetworkKey | None:
    """The network ``nic`` of ``machine`` attaches to (None: NAT or bridged, not one of hosted's)."""
    if nic.kind in ("internal", "natnetwork") and nic.network:
        return NetworkKey(nic.kind, nic.network)
    if nic.kind == "hostonly":
        return NetworkKey("hostonly", nic.interface or "")
    if nic.kind == "link" and nic.peer:
        return NetworkKey("link", link_name(machine, nic.peer))
    return None


@dataclass(frozen=True)
class Member:
    """One NIC on a network."""

    machine: str
    slot: int
    nic: Nic


def members(machines: Iterable[MachineSpec]) -> dict[NetworkKey, list[Member]]:
    """Every network the machines' NICs attach to, with its NICs, in profile order."""
    out: dict[NetworkKey, list[Member]] = {}
    for spec in machines:
        for slot, nic in enumerate(spec.nics or ()):
            key = network_of(spec.name, nic)
            if key is not None:
                out.setdefault(key, []).append(Member(spec.name, slot, nic))
    return out


def declared_range(key: NetworkKey, nics: Iterable[Nic]) -> ipaddress.IPv4Network:
    """The network's range: a NAT Network's cidr, else the first declared address's, else a default."""
    nics = list(nics)
    cidr = next((n.cidr for n in nics if n.cidr), None)
    if cidr:
        return ipaddress.IPv4Network(cidr)
    given = next((n.ip for n in nics if n.ip and n.ip != "auto"), None)
    if given:
        return ipaddress.IPv4Interface(given).network
    if key.kind in ("hostonly", "natnetwork"):
        return ipaddress.IPv4Network(DEFAULT_HOSTONLY if key.kind == "hostonly" else DEFAULT_NATNETWORK)
    return derived_range(key)


def derived_range(key: NetworkKey) -> ipaddress.IPv4Network:
    """A /24 in 10.0.0.0/8 derived from the network's name: stable, and apart from other networks'."""
    digest = hashlib.sha256(f"{key.kind}/{key.name}".encode()).digest()
    return ipaddress.IPv4Network(f"10.{100 + digest[0] % 100}.{digest[1]}.0/24")


@dataclass(frozen=True)
class DhcpLayout:
    """The addresses of a DHCP server that hosted sets up: its own, its pool and the gateway."""
    server: str  # the DHCP server's own address
    lower: str  # its pool for machines without a fixed address
    upper: str
    netmask: str
    gateway: str | None = None  # a NAT Network's: handed out as router and name server


def dhcp_layout(key: NetworkKey, network: ipaddress.IPv4Network) -> DhcpLayout:
    """Where hosted's DHCP server sits: a NAT Network's at .3 (VirtualBox's own choice, the gateway
    is .1); elsewhere at the last address, its pool the upper half below it."""
    hosts = list(network.hosts())
    mask = str(network.netmask)
    if key.kind == "natnetwork":
        return DhcpLayout(str(hosts[2]), str(hosts[3]), str(hosts[-1]), mask, gateway=str(hosts[0]))
    return DhcpLayout(str(hosts[-1]), str(hosts[len(hosts) // 2]), str(hosts[-2]), mask)


def reserved(key: NetworkKey, network: ipaddress.IPv4Network) -> dict[str, str]:
    """Addresses of the network that no machine may take, and what holds each."""
    hosts = list(network.hosts())
    if key.kind == "hostonly":
        return {str(hosts[0]): "the host's own address on the host-only interface",
                str(hosts[-1]): "hosted's DHCP server for the network (where hosted runs one)"}
    if key.kind == "natnetwork":
        return {str(hosts[0]): "the NAT Network's gateway", str(hosts[2]): "the NAT Network's DHCP server"}
    if key.kind == "internal":
        return {str(hosts[-1]): "hosted's DHCP server for the network"}
    return {}


def first_auto(key: NetworkKey, network: ipaddress.IPv4Network) -> int:
    """Index into ``network.hosts()`` where ``ip: auto`` starts looking (.10 where there is room)."""
    return 0 if key.kind == "link" or network.num_addresses < 64 else 9


def free_addresses(key: NetworkKey, network: ipaddress.IPv4Network, taken: Iterable[str]) -> Iterator[str]:
    """Addresses ``ip: auto`` may take, lowest first."""
    used = set(taken) | set(reserved(key, network))
    hosts = list(network.hosts())
    start = first_auto(key, network)
    for address in [*hosts[start:], *hosts[:start]]:
        if str(address) not in used:
            yield str(address)


def stable_mac(environment: str, machine: str, slot: int) -> str:
    """A MAC address for a NIC with an address: in VirtualBox's range, the same every time the
    machine is made, so a DHCP server's fixed address and a cloud-init seed can name it first."""
    digest = hashlib.sha256(f"{environment}/{machine}/{slot}".encode()).hexdigest()
    return (VIRTUALBOX_OUI + digest[:6]).upper()


def mac_colons(mac: str) -> str:
    """080027AABBCC -> 08:00:27:aa:bb:cc (how guests show it)."""
    return ":".join(mac[i:i + 2] for i in range(0, 12, 2)).lower()


def hostonly_ranges(text: str | None) -> tuple[ipaddress.IPv4Network, ...]:
    """The ranges /etc/vbox/networks.conf allows host-only interfaces (``* 10.0.0.0/8 ...``
    lines); VirtualBox's default when the file does not exist (``text`` None)."""
    if text is None:
        return tuple(ipaddress.IPv4Network(r) for r in DEFAULT_HOSTONLY_RANGES)
    out = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words or words[0] != "*":
            continue
        for word in words[1:]:
            try:
                network = ipaddress.ip_network(word, strict=False)
            except ValueError:
                continue
            if isinstance(network, ipaddress.IPv4Network):
                out.append(network)
    return tuple(out)


def hostonly_allowed(network: ipaddress.IPv4Network, ranges: Iterable[ipaddress.IPv4Network]) -> bool:
    return any(network.subnet_of(r) for r in ranges)
