"""Contract: DHCP servers with fixed addresses, NAT Networks with per-machine port forwards,
link NICs, and what hosted did not create left alone; on the double and on real VirtualBox."""

from __future__ import annotations

from dataclasses import replace

import pytest

from contract.conftest import Ctx
from hosted.backend.base import DhcpSpec
from hosted.errors import OperationFailed
from hosted.model import Forward, Nic


def dhcp_spec(network: str, *fixed: tuple[str, str]) -> DhcpSpec:
    return DhcpSpec(network=network, server="10.20.0.254", netmask="255.255.255.0", lower="10.20.0.128",
                    upper="10.20.0.253", fixed=fixed)


def test_hosteds_dhcp_server_with_a_fixed_address_per_mac(ctx: Ctx) -> None:
    m = ctx.create(ctx.spec(nics=(Nic("internal", network=f"{ctx.env}-n", mac="080027C0FFEE"),)))
    assert m.nics[0].mac == "080027C0FFEE"
    net = f"{ctx.env}-n"
    made = ctx.backend.ensure_dhcp_server(dhcp_spec(net, ("080027C0FFEE", "10.20.0.11"),
                                                    ("0800270000AA", "10.20.0.12")), ctx.emit)
    assert made.owned and made.enabled and made.server == "10.20.0.254"
    assert (made.lower, made.upper, made.netmask) == ("10.20.0.128", "10.20.0.253", "255.255.255.0")
    assert dict(made.fixed) == {"080027C0FFEE": "10.20.0.11", "0800270000AA": "10.20.0.12"}
    state = ctx.backend.list_networks()
    assert state.dhcp_server(net) == made
    mine = [(a.uuid, a.kind, a.name) for a in state.attachments if a.name == net]
    assert mine == [(m.uuid, "internal", net)]
    # Without the machines' attachments (destroy's question: has hosted a network here?).
    bare = ctx.backend.list_networks(attachments=False)
    assert (bare.dhcp, bare.natnetworks, bare.attachments) == (state.dhcp, state.natnetworks, ())
    # A new layout, one address changed; the MAC no machine has and no one asks for any more goes.
    again = ctx.backend.ensure_dhcp_server(replace(dhcp_spec(net, ("080027C0FFEE", "10.20.0.21")),
                                                   server="10.20.0.1", lower="10.20.0.100"), ctx.emit)
    assert (again.server, again.lower) == ("10.20.0.1", "10.20.0.100")
    assert dict(again.fixed) == {"080027C0FFEE": "10.20.0.21"}
    ctx.backend.destroy(m.uuid, ctx.emit)  # its fixed address goes with it
    assert dict(ctx.backend.list_networks().dhcp_server(net).fixed) == {}  # type: ignore[union-attr]
    ctx.backend.remove_network("dhcp", net, ctx.emit)
    assert ctx.backend.list_networks().dhcp_server(net) is None
    ctx.backend.remove_network("dhcp", net, ctx.emit)  # gone: a no-op


def test_a_dhcp_server_hosted_did_not_create_is_never_changed(ctx: Ctx) -> None:
    net = f"{ctx.env}-theirs"
    ctx.harness.make_foreign_dhcp(net, "10.50.0.1", "10.50.0.100", "10.50.0.200")
    before = ctx.backend.list_networks().dhcp_server(net)
    assert before is not None and not before.owned and before.server == "10.50.0.1"
    with pytest.raises(OperationFailed, match="not created by hosted"):
        ctx.backend.ensure_dhcp_server(dhcp_spec(net, ("080027C0FFEE", "10.20.0.11")), ctx.emit)
    with pytest.raises(OperationFailed, match="hosted did not create it"):
        ctx.backend.remove_network("dhcp", net, ctx.emit)
    assert ctx.backend.list_networks().dhcp_server(net) == before


def test_hosteds_nat_network_and_one_it_did_not_create(ctx: Ctx) -> None:
    name = f"{ctx.env}-nn"
    made = ctx.backend.ensure_nat_network(name, "10.30.0.0/24", ctx.emit)
    assert (made.name, made.cidr, made.enabled, made.owned) == (name, "10.30.0.0/24", True, True)
    assert ctx.backend.ensure_nat_network(name, "10.31.0.0/24", ctx.emit).cidr == "10.31.0.0/24"
    ctx.backend.remove_network("natnetwork", name, ctx.emit)
    assert ctx.backend.list_networks().natnetwork(name) is None
    theirs = f"{ctx.env}-tn"
    ctx.harness.make_foreign_natnet(theirs, "10.40.0.0/24")
    assert ctx.backend.ensure_nat_network(theirs, "10.40.0.0/24", ctx.emit).owned is False
    with pytest.raises(OperationFailed, match="hosted did not create"):
        ctx.backend.ensure_nat_network(theirs, "10.41.0.0/24", ctx.emit)
    with pytest.raises(OperationFailed, match="hosted did not create it"):
        ctx.backend.remove_network("natnetwork", theirs, ctx.emit)


def test_port_forwards_in_a_nat_network_belong_to_their_machine(ctx: Ctx) -> None:
    name = f"{ctx.env}-nn"
    ctx.backend.ensure_nat_network(name, "10.30.0.0/24", ctx.emit)
    port = ctx.explicit_port()
    nic = Nic("natnetwork", network=name, ip="10.30.0.15/24",
              forwards=(Forward("ssh", 22, None, guest_ip="10.30.0.15"), Forward("web", 80, port)))
    a = ctx.create(ctx.spec("a", nics=(nic,)))
    b_ssh = Forward("ssh", 22, None, guest_ip="10.30.0.16")
    b = ctx.create(ctx.spec("b", nics=(replace(nic, ip="10.30.0.16/24", forwards=(b_ssh,)),)))
    ssh, web = a.nics[0].forwards
    assert (a.nics[0].kind, a.nics[0].network) == ("natnetwork", name)
    assert (ssh.name, ssh.guest, ssh.guest_ip, ssh.host_ip) == ("ssh", 22, "10.30.0.15", "127.0.0.1")
    assert ssh.host is not None and (web.host, web.guest_ip) == (port, "10.30.0.15")
    rules = {f.name: f for f in ctx.backend.list_networks().natnetwork(name).rules}  # type: ignore[union-attr]
    assert set(rules) == {f"{a.vm_name}/ssh", f"{a.vm_name}/web", f"{b.vm_name}/ssh"}
    assert rules[f"{b.vm_name}/ssh"].host not in (None, ssh.host)  # auto ports never collide
    # forwards are a runtime change, as NAT forwards are; the other machine's rules stay
    changed = replace(nic, forwards=(Forward("ssh", 22, None, guest_ip="10.30.0.15"),))
    after = ctx.configure(a.uuid, ctx.spec("a", nics=(changed,)), ["forwards"])
    assert [(f.name, f.host) for f in after.nics[0].forwards] == [("ssh", ssh.host)]
    ctx.backend.destroy(a.uuid, ctx.emit)
    rules = {f.name for f in ctx.backend.list_networks().natnetwork(name).rules}  # type: ignore[union-attr]
    assert rules == {f"{b.vm_name}/ssh"}


def test_a_link_nic_keeps_its_udp_ports_and_mac(ctx: Ctx) -> None:
    nic = Nic("link", peer="b", link_port=3301, peer_port=3302, mac="080027ABCDEF")
    m = ctx.create(ctx.spec(nics=(Nic("nat"), nic)))
    seen = m.nics[1]
    assert (seen.kind, seen.link_port, seen.peer_port, seen.mac) == ("link", 3301, 3302, "080027ABCDEF")
    assert ctx.observe(m.uuid).nics[1] == seen
    again = ctx.configure(m.uuid, ctx.spec(nics=(Nic("nat"), replace(nic, link_port=3303))), ["nics"])
    assert (again.nics[1].link_port, again.nics[1].peer_port) == (3303, 3302)


def test_a_link_without_ports_is_refused(ctx: Ctx) -> None:
    with pytest.raises(OperationFailed, match="no UDP ports yet"):
        ctx.create(ctx.spec(nics=(Nic("link", peer="b"),)))
    assert not [m for m in ctx.backend.list_machines() if m.vm_name.startswith(ctx.env)]
