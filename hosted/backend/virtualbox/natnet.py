"""VirtualBox's NAT Networks (INATNetwork): hosted's own, and each machine's port forwards in them.

A NAT Network is shared by machines, so its port-forward rules are named after the machine
that owns them: ``VM/RULE``.  A machine reads back its own rules as the forwards of its
natnetwork NIC; rules of other names are never touched.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Collection, Sequence
from typing import Any

from hosted.backend.base import NatNetworkInfo
from hosted.backend.virtualbox import dhcp
from hosted.backend.virtualbox import extradata as xd
from hosted.backend.virtualbox.context import Ctx
from hosted.backend.virtualbox.translate import E_INVALIDARG, VBOX_E_OBJECT_NOT_FOUND, status_of
from hosted.errors import OperationFailed
from hosted.events import Emit, Event
from hosted.model import Forward

KIND = "natnetwork"
_RULE = re.compile(r"^(?P<name>.*):(?P<proto>tcp|udp):\[(?P<hip>[^\]]*)\]:(?P<hport>\d+):"
                   r"\[(?P<gip>[^\]]*)\]:(?P<gport>\d+)$")
Allocate = Callable[[str, Collection[int]], int]


def find(ctx: Ctx, name: str) -> Any | None:
    try:
        return ctx.vbox.findNATNetworkByName(name)
    except ctx.xcpt as exc:
        if status_of(ctx, exc) in (E_INVALIDARG, VBOX_E_OBJECT_NOT_FOUND):
            return None
        raise


def parse_rule(rule: str) -> Forward | None:
    """``name:tcp:[hostip]:hostport:[guestip]:guestport`` (VirtualBox's spelling)."""
    m = _RULE.match(rule)
    if m is None:
        return None
    return Forward(name=m["name"], guest=int(m["gport"]), host=int(m["hport"]), host_ip=m["hip"],
                   protocol="tcp" if m["proto"] == "tcp" else "udp", guest_ip=m["gip"])


def rules(ctx: Ctx, network: Any) -> list[Forward]:
    return [f for r in ctx.array(network, "portForwardRules4") if (f := parse_rule(str(r))) is not None]


def info(ctx: Ctx, network: Any) -> NatNetworkInfo:
    name = str(network.networkName)
    return NatNetworkInfo(name=name, cidr=str(network.network), enabled=bool(network.enabled),
                          rules=tuple(rules(ctx, network)), owned=xd.network_owned(ctx.vbox, KIND, name))


def list_networks(ctx: Ctx) -> list[NatNetworkInfo]:
    return [info(ctx, n) for n in ctx.array(ctx.vbox, "NATNetworks")]


def ensure(ctx: Ctx, name: str, cidr: str, emit: Emit) -> NatNetworkInfo:
    network = find(ctx, name)
    owned = xd.network_owned(ctx.vbox, KIND, name)
    if network is None:
        xd.mark_network(ctx.vbox, KIND, name, True)
        network = ctx.vbox.createNATNetwork(name)
        owned = True
        emit(Event("info", f"created NAT Network {name} ({cidr})"))
    current = ipaddress.IPv4Network(str(network.network or "0.0.0.0/32"), strict=False)
    if current != ipaddress.IPv4Network(cidr):
        if not owned:
            raise OperationFailed(f"NAT Network {name} is {current}, not {cidr}, and hosted did not "
                                  "create it",
                                  "use the network's range in the profile, or another network name")
        network.network = cidr
    if owned:
        if not network.enabled:
            network.enabled = True
        if not network.needDhcpServer:
            network.needDhcpServer = True  # it then uses the DHCP server of its name: hosted's
    return info(ctx, network)


def remove(ctx: Ctx, name: str, emit: Emit) -> None:
    network = find(ctx, name)
    if network is not None:
        if not xd.network_owned(ctx.vbox, KIND, name):
            raise OperationFailed(f"refusing to remove NAT Network {name}: hosted did not create it",
                                  "hosted only removes the NAT Networks it created")
        ctx.vbox.removeNATNetwork(network)
        emit(Event("info", f"removed NAT Network {name}"))
    xd.mark_network(ctx.vbox, KIND, name, False)
    if xd.network_owned(ctx.vbox, dhcp.KIND, name):
        dhcp.remove(ctx, name, emit)


def machine_rules(ctx: Ctx, name: str, vm_name: str) -> tuple[Forward, ...]:
    """The machine's own rules in NAT Network ``name``, named as the profile names them."""
    network = find(ctx, name)
    if network is None:
        return ()
    prefix = f"{vm_name}/"
    return tuple(Forward(name=f.name[len(prefix):], guest=f.guest, host=f.host, host_ip=f.host_ip,
                         protocol=f.protocol, guest_ip=f.guest_ip)
                 for f in rules(ctx, network) if f.name.startswith(prefix))


def sync_rules(ctx: Ctx, name: str, vm_name: str, desired: Sequence[Forward], guest_ip: str,
               allocate: Allocate, taken: Callable[[], set[int]], claimed: set[int]) -> None:
    """Make the machine's rules in NAT Network ``name`` ``desired`` (to ``guest_ip``); rules that
    already match keep their host port, ``host: auto`` ones get a free port."""
    network = find(ctx, name)
    if network is None:
        if desired:
            raise OperationFailed(f"no NAT Network {name} for the port forwards of {vm_name}",
                                  "run `hosted up` again: it creates the network first")
        return
    existing = {f.name: f for f in machine_rules(ctx, name, vm_name)}
    wanted = {f.name: f for f in desired}
    for rule, have in existing.items():
        want = wanted.get(rule)
        if want is None or not _target(want, guest_ip).matches(have):
            network.removePortForwardRule(False, f"{vm_name}/{rule}")
    for want in desired:
        target = _target(want, guest_ip)
        kept = existing.get(want.name)
        if kept is not None and target.matches(kept):
            continue
        port = target.host if target.host is not None else allocate(target.host_ip, taken() | claimed)
        claimed.add(port)
        proto = ctx.const.NATProtocol_TCP if target.protocol == "tcp" else ctx.const.NATProtocol_UDP
        network.addPortForwardRule(False, f"{vm_name}/{want.name}", proto, target.host_ip, port,
                                   target.guest_ip, target.guest)


def _target(f: Forward, guest_ip: str) -> Forward:
    return Forward(name=f.name, guest=f.guest, host=f.host, host_ip=f.host_ip, protocol=f.protocol,
                   guest_ip=f.guest_ip or guest_ip)


def drop_machine_rules(ctx: Ctx, vm_name: str, names: Collection[str]) -> None:
    for name in names:
        network = find(ctx, name)
        if network is None:
            continue
        for f in rules(ctx, network):
            if f.name.startswith(f"{vm_name}/"):
                network.removePortForwardRule(False, f.name)


def forwarded_ports(ctx: Ctx) -> set[int]:
    """Host ports of every NAT Network's rules (auto ports must avoid them too)."""
    return {f.host for n in ctx.array(ctx.vbox, "NATNetworks") for f in rules(ctx, n) if f.host is not None}
