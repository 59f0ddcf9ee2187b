"""Handlers of the network steps: the host's (NAT Networks, DHCP servers, link ports), the
guest's (addresses, names), and removing a network with its last machine."""

from __future__ import annotations

from hosted.backend.base import DhcpSpec
from hosted.errors import OperationFailed, SshError
from hosted.events import Event
from hosted.model import DEFAULT_HOST_IP
from hosted.run.context import StepContext
from hosted.steps.network import (
    RemoveNetwork,
    ReserveLinkPorts,
    SetAddresses,
    SetUpDhcpServer,
    SetUpNatNetwork,
    WriteHosts,
)


def set_up_natnetwork(step: SetUpNatNetwork, ctx: StepContext) -> None:
    ctx.backend.ensure_nat_network(step.network, step.cidr, ctx.emit)


def set_up_dhcp(step: SetUpDhcpServer, ctx: StepContext) -> None:
    fixed = tuple((mac, ip) for mac, ip, _ in step.fixed)
    spec = DhcpSpec(network=step.network, server=step.server, netmask=step.netmask, lower=step.lower,
                    upper=step.upper, gateway=step.gateway, fixed=fixed)
    ctx.backend.ensure_dhcp_server(spec, ctx.emit)


def reserve_link_ports(step: ReserveLinkPorts, ctx: StepContext) -> None:
    """Two free UDP ports, reserved under the host-wide lock like automatic forwards' ports."""
    from hosted.ports import PortAllocator

    allocator = PortAllocator()
    taken = set(step.taken)
    first = allocator.allocate(DEFAULT_HOST_IP, taken, protocol="udp")
    second = allocator.allocate(DEFAULT_HOST_IP, taken | {first}, protocol="udp")
    a, b = step.machines
    ctx.shared.put_link(step.link, {a: (first, second), b: (second, first)})
    ctx.emit(Event("info", f"link {a} <-> {b}: UDP 127.0.0.1:{first} <-> 127.0.0.1:{second}"))


def run_in_guest(ctx: StepContext, what: str, script: str) -> None:
    if ctx.session is None:
        raise SshError(f"{ctx.machine}: not logged in to set its {what}", "run `hosted up` again")
    lines: list[str] = []
    status, tail = ctx.session.run(script, privileged=True, on_output=lines.append, timeout=120)
    for line in lines:
        if line.startswith("hosted: "):
            ctx.emit(Event("info", line.removeprefix("hosted: "), machine=ctx.machine))
    if status != 0:
        raise OperationFailed(f"{ctx.machine}: setting its {what} in the guest failed (exit status {status})",
                              tail[-1500:] or "see the guest's system log")


def set_addresses(step: SetAddresses, ctx: StepContext) -> None:
    from hosted.guestnet import addresses_script

    run_in_guest(ctx, "addresses", addresses_script(step.addresses))
    ctx.backend.record_guest(ctx.need_uuid(), "addresses", step.fingerprint)


def write_hosts(step: WriteHosts, ctx: StepContext) -> None:
    from hosted.guestnet import hosts_script

    run_in_guest(ctx, "names (/etc/hosts)", hosts_script(ctx.env.name, step.entries))
    ctx.backend.record_guest(ctx.need_uuid(), "hosts", step.fingerprint)


def remove_network(step: RemoveNetwork, ctx: StepContext) -> None:
    ctx.backend.remove_network(step.target, step.network, ctx.emit)
