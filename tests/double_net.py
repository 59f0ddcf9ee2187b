"""The backend double's networks: DHCP servers, NAT Networks (with per-machine port-forward
rules named VM/RULE), hosted's ownership marks, and the MACs and link ports of adapters.

Mixed into MemoryBackend; it follows the same rules as hosted/backend/virtualbox/dhcp.py and
natnet.py, and tests/contract/test_contract_networks.py checks both against each other.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, field, replace
from typing import Any

from hosted.backend.base import (
    Attachment,
    DhcpServerInfo,
    DhcpSpec,
    NatNetworkInfo,
    NetworkObject,
    NetworkState,
)
from hosted.errors import OperationFailed
from hosted.events import Emit, Event
from hosted.model import Forward, Nic

HOSTONLY_PREFIX = "HostInterfaceNetworking-"


@dataclass
class DhcpServer:
    network: str
    server: str = ""
    netmask: str = ""
    lower: str = ""
    upper: str = ""
    enabled: bool = False
    options: dict[str, str] = field(default_factory=dict)
    fixed: dict[str, str] = field(default_factory=dict)


@dataclass
class NatNet:
    name: str
    cidr: str = ""
    enabled: bool = False
    need_dhcp: bool = False
    rules: dict[str, Forward] = field(default_factory=dict)  # VirtualBox's rule name -> rule


def random_mac() -> str:
    return "080027" + "".join(random.choice("0123456789ABCDEF") for _ in range(6))


class NetworksMixin:
    """Needs ``self._lock``, ``self.machines``, ``self._enter`` / ``self._leave``, ``self.ports``."""

    machines: dict[str, Any]
    ports: Any
    _lock: Any

    def _init_networks(self) -> None:
        self.dhcp: dict[str, DhcpServer] = {}
        self.natnets: dict[str, NatNet] = {}
        self.network_marks: set[tuple[str, str]] = set()

    def _enter(self, method: str, uuid: str | None, *args: Any) -> None: ...  # MemoryBackend's

    def _leave(self, method: str, uuid: str | None) -> None: ...

    # ---- test knobs ----

    def add_foreign_dhcp(self, network: str, server: str = "192.168.56.100", lower: str = "192.168.56.101",
                         upper: str = "192.168.56.254", netmask: str = "255.255.255.0") -> None:
        """A DHCP server hosted did not create (VirtualBox's own for vboxnet0, say)."""
        with self._lock:
            self.dhcp[network] = DhcpServer(network, server, netmask, lower, upper, True)

    def add_foreign_natnet(self, name: str, cidr: str = "10.0.2.0/24") -> None:
        with self._lock:
            self.natnets[name] = NatNet(name, cidr, True)

    # ---- Backend: networks ----

    def list_networks(self, attachments: bool = True) -> NetworkState:
        with self._lock:
            self._enter("list_networks", None)
            return NetworkState(dhcp=tuple(self._dhcp_info(d) for d in self.dhcp.values()),
                                natnetworks=tuple(self._natnet_info(n) for n in self.natnets.values()),
                                attachments=tuple(self._attachments()) if attachments else ())

    def ensure_dhcp_server(self, spec: DhcpSpec, emit: Emit) -> DhcpServerInfo:
        with self._lock:
            self._enter("ensure_dhcp_server", None, spec.network)
            server = self.dhcp.get(spec.network)
            if server is None:
                self.network_marks.add(("dhcp", spec.network))
                server = self.dhcp[spec.network] = DhcpServer(spec.network)
                emit(Event("info", f"created a DHCP server for {spec.network} ({spec.server})"))
            elif ("dhcp", spec.network) not in self.network_marks:
                raise OperationFailed(f"the DHCP server of {spec.network} was not created by hosted; it is "
                                      "left as it is")
            server.server, server.netmask, server.lower, server.upper = \
                spec.server, spec.netmask, spec.lower, spec.upper
            if spec.gateway:
                server.options.update(routers=spec.gateway, dns=spec.gateway)
            server.enabled = True
            in_use = {n.mac for m in self.machines.values() for n in m.config.nics}
            server.fixed = {mac: ip for mac, ip in server.fixed.items() if mac in in_use}
            server.fixed.update(dict(spec.fixed))
            self._leave("ensure_dhcp_server", None)
            return self._dhcp_info(server)

    def ensure_nat_network(self, name: str, cidr: str, emit: Emit) -> NatNetworkInfo:
        with self._lock:
            self._enter("ensure_nat_network", None, name)
            net = self.natnets.get(name)
            owned = ("natnetwork", name) in self.network_marks
            if net is None:
                self.network_marks.add(("natnetwork", name))
                net, owned = NatNet(name), True
                self.natnets[name] = net
                emit(Event("info", f"created NAT Network {name} ({cidr})"))
            if net.cidr != cidr:
                if not owned:
                    raise OperationFailed(f"NAT Network {name} is {net.cidr}, not {cidr}, and hosted did not "
                                          "create it")
                net.cidr = str(ipaddress.IPv4Network(cidr))
            if owned:
                net.enabled = net.need_dhcp = True
            self._leave("ensure_nat_network", None)
            return self._natnet_info(net)

    def remove_network(self, kind: NetworkObject, name: str, emit: Emit) -> None:
        with self._lock:
            self._enter("remove_network", None, kind, name)
            table: dict[str, Any] = self.dhcp if kind == "dhcp" else self.natnets
            if name in table:
                if (kind, name) not in self.network_marks:
                    raise OperationFailed(f"refusing to remove {kind} {name}: hosted did not create it")
                del table[name]
            self.network_marks.discard((kind, name))
            if kind == "natnetwork" and ("dhcp", name) in self.network_marks:
                self.dhcp.pop(name, None)
                self.network_marks.discard(("dhcp", name))
            self._leave("remove_network", None)

    # ---- for MemoryBackend ----

    def _nic_identity(self, nic: Nic, old: Nic | None) -> Nic:
        """A NIC as VirtualBox stores it: a MAC (its own, the adapter's, or a new one)."""
        mac = nic.mac or (old.mac if old is not None else None) or random_mac()
        return replace(nic, mac=mac, ip=None, static=False, peer=None, cidr=None)

    def _check_link(self, nic: Nic) -> None:
        if nic.kind == "link" and (nic.link_port is None or nic.peer_port is None):
            raise OperationFailed(f"the link to {nic.peer} has no UDP ports yet", "run `hosted up` again")

    def _sync_rules(self, vm_name: str, old: tuple[Nic, ...], nics: tuple[Nic, ...],
                    address: dict[int, str]) -> None:
        """The machine's NAT Network rules: of ``nics`` (their forwards), none in networks it left."""
        keep = {n.network for n in nics if n.kind == "natnetwork"}
        for n in old:
            if n.kind == "natnetwork" and n.network not in keep and n.network in self.natnets:
                self._drop_rules(vm_name, [str(n.network)])
        for slot, nic in enumerate(nics):
            if nic.kind != "natnetwork" or nic.network is None:
                continue
            net = self.natnets.get(nic.network)
            if net is None:
                if nic.forwards:
                    raise OperationFailed(f"no NAT Network {nic.network} for the port forwards of {vm_name}")
                continue
            mine = {k: v for k, v in net.rules.items() if k.startswith(f"{vm_name}/")}
            for key in mine:
                del net.rules[key]
            for f in nic.forwards:
                net.rules[f"{vm_name}/{f.name}"] = replace(f, guest_ip=f.guest_ip or address.get(slot, ""))

    def _drop_rules(self, vm_name: str, networks: list[str]) -> None:
        for name in networks:
            net = self.natnets.get(name)
            if net is not None:
                net.rules = {k: v for k, v in net.rules.items() if not k.startswith(f"{vm_name}/")}

    def _rules_of(self, vm_name: str, network: str) -> tuple[Forward, ...]:
        net = self.natnets.get(network)
        prefix = f"{vm_name}/"
        return tuple(replace(f, name=k[len(prefix):]) for k, f in (net.rules.items() if net else ())
                     if k.startswith(prefix))

    def _network_ports(self) -> set[int]:
        return {f.host for n in self.natnets.values() for f in n.rules.values() if f.host is not None}

    def _release(self, vm_name: str, nics: tuple[Nic, ...]) -> None:
        self._drop_rules(vm_name, [str(n.network) for n in nics if n.kind == "natnetwork"])
        macs = {n.mac for n in nics}
        for name, server in self.dhcp.items():
            if ("dhcp", name) in self.network_marks:
                server.fixed = {k: v for k, v in server.fixed.items() if k not in macs}

    def _attachments(self) -> list[Attachment]:
        out = []
        for m in self.machines.values():
            for n in m.config.nics:
                name = n.network if n.kind in ("internal", "natnetwork") else \
                    n.interface if n.kind == "hostonly" else None
                if name is not None:
                    out.append(Attachment(m.uuid, m.vm_name, n.kind, name))
        return out

    def _dhcp_info(self, d: DhcpServer) -> DhcpServerInfo:
        return DhcpServerInfo(d.network, d.server, d.netmask, d.lower, d.upper, d.enabled, dict(d.fixed),
                              ("dhcp", d.network) in self.network_marks)

    def _natnet_info(self, n: NatNet) -> NatNetworkInfo:
        rules = tuple(replace(f, name=k) for k, f in n.rules.items())
        return NatNetworkInfo(n.name, n.cidr, n.enabled, rules, ("natnetwork", n.name) in self.network_marks)
