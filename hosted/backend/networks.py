"""The networks a backend reports and runs: DHCP servers, NAT Networks, attachments.

Typed values of the Backend protocol's network operations (``hosted.backend.base``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from hosted.model import Forward, NicKind


@dataclass(frozen=True)
class DhcpSpec:
    """A DHCP server hosted runs on a network: its layout and the fixed address of each MAC."""

    network: str  # VirtualBox's name: an internal network's, HostInterfaceNetworking-IF, a NAT Network's
    server: str  # the server's own address
    netmask: str
    lower: str  # the pool for guests without a fixed address
    upper: str
    gateway: str | None = None  # handed out as router and name server (a NAT Network's gateway)
    fixed: tuple[tuple[str, str], ...] = ()  # (MAC as 12 upper-case hex digits, address)


@dataclass(frozen=True)
class DhcpServerInfo:
    """A DHCP server of VirtualBox's, as read: the network it serves and its pool."""
    network: str
    server: str
    netmask: str
    lower: str
    upper: str
    enabled: bool
    fixed: Mapping[str, str] = field(default_factory=dict)  # MAC -> fixed address
    owned: bool = False  # hosted created it: only those are ever changed or removed


@dataclass(frozen=True)
class NatNetworkInfo:
    """A NAT Network of VirtualBox's, as read, with its port-forward rules."""
    name: str
    cidr: str
    enabled: bool
    rules: tuple[Forward, ...] = ()  # every IPv4 port-forward rule, named as VirtualBox names it
    owned: bool = False


@dataclass(frozen=True)
class Attachment:
    """One enabled adapter of a registered machine on a network VirtualBox keeps by name."""

    uuid: str
    vm_name: str
    kind: NicKind  # internal, hostonly, natnetwork
    name: str  # the internal network, host-only interface or NAT Network


@dataclass(frozen=True)
class NetworkState:
    """The host's DHCP servers and NAT Networks, and who is attached to what, read now."""

    dhcp: tuple[DhcpServerInfo, ...] = ()
    natnetworks: tuple[NatNetworkInfo, ...] = ()
    attachments: tuple[Attachment, ...] = ()

    def dhcp_server(self, network: str) -> DhcpServerInfo | None:
        return next((d for d in self.dhcp if d.network == network), None)

    def natnetwork(self, name: str) -> NatNetworkInfo | None:
        return next((n for n in self.natnetworks if n.name == name), None)

    def users(self, kind: str, name: str) -> tuple[Attachment, ...]:
        return tuple(a for a in self.attachments if a.kind == kind and a.name == name)


NetworkObject = Literal["dhcp", "natnetwork"]
