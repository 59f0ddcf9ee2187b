"""Steps on networks: the host's (NAT Networks, DHCP servers, link ports), a guest's
(its addresses, its names for the other machines), and removing a network with its last
machine.

Steps of the host have ``machine`` ""; the runner does them once, before the machines.
``lane`` names the network for the run's results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from hosted.steps.base import Step

Address = tuple[str, str, str]  # (MAC, address/prefix, what it is on: "labnet", "link to b")


@dataclass(frozen=True, kw_only=True)
class SetUpNatNetwork(Step):
    """A NAT Network hosted creates (or whose range it sets, when it created it)."""

    network: str
    cidr: str
    create: bool = True
    kind: ClassVar[str] = "set-up-natnetwork"
    phase: ClassVar[str] = "network"
    repeatable: ClassVar[bool] = True

    @property
    def lane(self) -> str:
        return f"network {self.network}"

    def summary(self) -> str:
        return f"{'create' if self.create else 'change'} NAT Network {self.network} ({self.cidr})"


@dataclass(frozen=True, kw_only=True)
class SetUpDhcpServer(Step):
    """hosted's DHCP server on a network: its pool, and a fixed address for each machine's MAC."""

    network: str  # VirtualBox's network name (HostInterfaceNetworking-vboxnet0 for a host-only one)
    label: str  # the network as the profile names it ("internal network labnet")
    server: str
    netmask: str
    lower: str
    upper: str
    gateway: str | None = None
    fixed: tuple[tuple[str, str, str], ...] = ()  # (MAC, address, machine)
    create: bool = True
    kind: ClassVar[str] = "set-up-dhcp"
    phase: ClassVar[str] = "network"
    repeatable: ClassVar[bool] = True

    @property
    def lane(self) -> str:
        return f"dhcp {self.network}"

    def summary(self) -> str:
        what = "create the DHCP server" if self.create else "update the DHCP server"
        fixed = ", ".join(f"{m} {ip}" for _, ip, m in self.fixed)
        return f"{what} of {self.label} ({self.server}, pool {self.lower}-{self.upper})" + \
            (f"; fixed: {fixed}" if fixed else "")


@dataclass(frozen=True, kw_only=True)
class ReserveLinkPorts(Step):
    """Two free UDP ports on 127.0.0.1 for a link, chosen under the host-wide port lock; the
    two machines' NICs are then configured with them, each end sending to the other's."""

    link: str  # "a--b"
    machines: tuple[str, str]
    taken: tuple[int, ...] = ()  # UDP ports VirtualBox machines already use (links)
    kind: ClassVar[str] = "reserve-link-ports"
    phase: ClassVar[str] = "network"

    @property
    def lane(self) -> str:
        return f"link {self.link}"

    def summary(self) -> str:
        a, b = self.machines
        return f"choose the UDP ports of the link {a} <-> {b}"


@dataclass(frozen=True, kw_only=True)
class SetAddresses(Step):
    """The addresses no DHCP server of hosted's hands out, set inside the guest over SSH
    (idempotent: an address already there is left alone; kept across reboots where the guest
    has netplan, systemd-networkd or ifupdown)."""

    addresses: tuple[Address, ...]
    fingerprint: str
    kind: ClassVar[str] = "set-addresses"
    phase: ClassVar[str] = "network"

    def summary(self) -> str:
        return "set addresses in the guest: " + ", ".join(f"{ip} ({on})" for _, ip, on in self.addresses)


@dataclass(frozen=True, kw_only=True)
class WriteHosts(Step):
    """The other machines' names in the guest's /etc/hosts, in a block hosted owns (idempotent)."""

    entries: tuple[tuple[str, str], ...]  # (address, machine name)
    fingerprint: str
    kind: ClassVar[str] = "write-hosts"
    phase: ClassVar[str] = "network"

    def summary(self) -> str:
        return "write /etc/hosts: " + ", ".join(f"{name} {ip}" for ip, name in self.entries)


@dataclass(frozen=True, kw_only=True)
class RemoveNetwork(Step):
    """A DHCP server or NAT Network hosted created, once its last machine has left it."""

    target: Literal["dhcp", "natnetwork"]
    network: str
    label: str
    kind: ClassVar[str] = "remove-network"
    phase: ClassVar[str] = "network"
    repeatable: ClassVar[bool] = True

    @property
    def lane(self) -> str:  # as a step of the host: a network no machine uses any more
        return f"network {self.network}"

    def summary(self) -> str:
        what = "the DHCP server of" if self.target == "dhcp" else "NAT Network"
        return f"remove {what} {self.label if self.target == 'dhcp' else self.network}"
