"""Planning networks (pure): DHCP servers and their fixed addresses, NAT Networks, link ports,
addresses and names in the guest, ranges already in use, host-only ranges, removal with the
last machine, and the refusal to start on a driverless host."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

import pytest
from factories import ENV, env, fwd, nat, observed, spec

from hosted.backend.base import Attachment, DhcpServerInfo, MachineRecords, NatNetworkInfo, NetworkState
from hosted.errors import DriverMissing, NetworkConflict
from hosted.facts import Facts
from hosted.model import Environment, MachineSpec, Nic, ObservedMachine, PowerState, Tags
from hosted.networks import stable_mac
from hosted.planner import Plan, plan, plan_destroy
from hosted.planner.netguest import fingerprint
from hosted.steps import (
    Noop,
    Provision,
    RemoveNetwork,
    ReserveLinkPorts,
    SetAddresses,
    SetUpDhcpServer,
    SetUpNatNetwork,
    WaitReady,
    WriteHosts,
)

SSH = nat(fwd(22, None, "ssh"))


def lab(*machines: MachineSpec) -> Environment:
    return env(*machines)


def facts(*machines: ObservedMachine, **kw: Any) -> Facts:
    return Facts(machines=tuple(machines), **kw)


def host(p: Plan) -> list[Any]:
    return list(p.images)


def internal(ip: str | None = "10.20.0.11/24", network: str = "labnet", **kw: Any) -> Nic:
    return Nic("internal", network=network, ip=ip, **kw)


def link(peer: str, ip: str | None = None) -> Nic:
    return Nic("link", peer=peer, ip=ip)


def owned_dhcp(network: str = "labnet", server: str = "10.20.0.254", fixed: dict[str, str] | None = None,
               owned: bool = True, lower: str = "10.20.0.128", upper: str = "10.20.0.253") -> DhcpServerInfo:
    return DhcpServerInfo(network, server, "255.255.255.0", lower, upper, True, fixed or {}, owned)


def test_a_new_machine_on_an_internal_network_gets_hosteds_dhcp_server_with_its_fixed_address() -> None:
    p = plan(lab(spec("a", state="poweroff", nics=(SSH, internal()))), facts())
    [dhcp] = [s for s in host(p) if isinstance(s, SetUpDhcpServer)]
    mac = stable_mac(ENV, "a", 1)
    assert (dhcp.network, dhcp.server, dhcp.lower, dhcp.upper) == \
        ("labnet", "10.20.0.254", "10.20.0.128", "10.20.0.253")
    assert dhcp.fixed == ((mac, "10.20.0.11", "a"),) and dhcp.create
    assert "create the DHCP server of internal network labnet" in dhcp.describe()
    spec_a = p.machines[0].spec
    assert spec_a is not None and spec_a.nics is not None
    assert [n.mac for n in spec_a.nics] == [stable_mac(ENV, "a", 0), mac]  # every NIC: for cloud-init


def test_a_dhcp_server_that_already_serves_the_addresses_is_a_noop_saying_so() -> None:
    a = observed("a", nics=(Nic("nat", mac="080027000001"), Nic("internal", network="labnet",
                                                                  mac="080027000002")))
    net = NetworkState(dhcp=(owned_dhcp(fixed={"080027000002": "10.20.0.11"}),))
    p = plan(lab(spec("a", state="poweroff", nics=(nat(), internal()))), facts(a, networks=net))
    assert not p.has_actions
    assert any("already serves 10.20.0.0/24; fixed: a 10.20.0.11" in s.describe() for s in host(p))
    assert p.machines[0].spec.nics[1].mac == "080027000002"  # type: ignore[union-attr,index]


def test_a_missing_fixed_address_updates_the_server() -> None:
    net = NetworkState(dhcp=(owned_dhcp(),))
    p = plan(lab(spec("a", state="poweroff", nics=(internal(),))), facts(networks=net))
    [dhcp] = [s for s in host(p) if isinstance(s, SetUpDhcpServer)]
    assert not dhcp.create and "lack a 10.20.0.11" in dhcp.reason


def test_auto_takes_the_lowest_free_address_and_keeps_the_one_the_server_fixes() -> None:
    e = lab(spec("a", state="poweroff", nics=(internal(),)),
            spec("b", state="poweroff", nics=(internal("auto"),)),
            spec("c", state="poweroff", nics=(internal("auto"),)))
    p = plan(e, facts())
    ips = {m.machine: m.spec.nics[0].ip for m in p.machines}  # type: ignore[union-attr,index]
    assert ips == {"a": "10.20.0.11/24", "b": "10.20.0.10/24", "c": "10.20.0.12/24"}
    c = observed("c", nics=(Nic("internal", network="labnet", mac="0800270000CC"),))
    net = NetworkState(dhcp=(owned_dhcp(fixed={"0800270000CC": "10.20.0.77"}),))
    p = plan(e, facts(c, networks=net))
    assert p.machine("c").spec.nics[0].ip == "10.20.0.77/24"  # type: ignore[union-attr,index]


def test_a_network_whose_nics_are_all_auto_gets_a_range_derived_from_its_name() -> None:
    p = plan(lab(spec("a", state="poweroff", nics=(internal("auto", network="x"),))), facts())
    ip = p.machines[0].spec.nics[0].ip  # type: ignore[union-attr,index]
    assert ip is not None and ip.startswith("10.") and ip.endswith(".10/24")


def test_a_foreign_dhcp_server_with_another_range_is_a_plan_time_error() -> None:
    net = NetworkState(dhcp=(owned_dhcp(server="10.30.0.1", owned=False),))
    with pytest.raises(NetworkConflict, match=r"already used with 10\.30\.0\.0/24"):
        plan(lab(spec("a", nics=(internal(),))), facts(networks=net))


def test_hosteds_own_server_with_another_range_changes_only_when_no_one_else_uses_it() -> None:
    net = NetworkState(dhcp=(owned_dhcp(server="10.30.0.254"),),
                       attachments=(Attachment("u-other", "other-vm", "internal", "labnet"),))
    with pytest.raises(NetworkConflict, match="used by other-vm"):
        plan(lab(spec("a", state="poweroff", nics=(internal(),))), facts(networks=net))
    p = plan(lab(spec("a", state="poweroff", nics=(internal(),))),
             facts(networks=replace(net, attachments=())))
    [dhcp] = [s for s in host(p) if isinstance(s, SetUpDhcpServer)]
    assert not dhcp.create and "it serves 10.30.0.254" in dhcp.reason


def test_a_foreign_server_with_the_same_range_is_left_alone_and_the_guest_sets_its_address() -> None:
    net = NetworkState(dhcp=(owned_dhcp("HostInterfaceNetworking-vboxnet0", "192.168.56.100", owned=False,
                                        lower="192.168.56.101", upper="192.168.56.254"),))
    a = observed("a", power=PowerState.RUNNING,
                 nics=(Nic("nat", forwards=(fwd(22, 2222, "ssh"),), mac="080027000001"),
                       Nic("hostonly", interface="vboxnet0", mac="080027000002")))
    nic = Nic("hostonly", interface="vboxnet0", ip="192.168.56.10/24")
    p = plan(lab(spec("a", nics=(SSH, nic))), facts(a, networks=net))
    assert not any(isinstance(s, SetUpDhcpServer) for s in host(p))
    assert any("not hosted's; addresses are set inside the guests" in w for w in p.warnings)
    steps = p.machines[0].steps
    [addr] = [s for s in steps if isinstance(s, SetAddresses)]
    assert addr.addresses == (("080027000002", "192.168.56.10/24", "vboxnet0"),)
    assert isinstance(steps[steps.index(addr) - 1], WaitReady)


def test_host_only_ranges_are_checked_against_what_virtualbox_allows() -> None:
    e = lab(spec("a", state="poweroff", nics=(Nic("hostonly", interface="vboxnet1", ip="10.5.0.2/24"),)))
    with pytest.raises(NetworkConflict, match=r"outside the ranges .* \(192.168.56.0/21\)") as err:
        plan(e, facts())
    assert "/etc/vbox/networks.conf" in err.value.hint
    assert plan(e, facts(hostonly_ranges=("10.0.0.0/8",))).has_actions


def test_a_nat_network_is_created_with_its_dhcp_server_and_forwards_go_to_the_machines_address() -> None:
    nic = Nic("natnetwork", network="nn", forwards=(fwd(80, 8080, "web"),))
    p = plan(lab(spec("a", state="poweroff", nics=(nic,))), facts())
    natnet = next(s for s in host(p) if isinstance(s, SetUpNatNetwork))
    dhcp = next(s for s in host(p) if isinstance(s, SetUpDhcpServer))
    assert (natnet.network, natnet.cidr) == ("nn", "10.0.2.0/24")
    assert (dhcp.server, dhcp.gateway, dhcp.fixed[0][1]) == ("10.0.2.3", "10.0.2.1", "10.0.2.10")
    resolved = p.machines[0].spec.nics[0]  # type: ignore[union-attr,index]
    assert resolved.ip == "10.0.2.10/24" and resolved.forwards[0].guest_ip == "10.0.2.10"


def test_a_foreign_nat_network_is_used_as_it_is_but_never_changed() -> None:
    net = NetworkState(natnetworks=(NatNetworkInfo("nn", "10.0.2.0/24", True, owned=False),))
    plain = Nic("natnetwork", network="nn")
    p = plan(lab(spec("a", state="poweroff", nics=(plain,))), facts(networks=net))
    assert any("is not hosted's: used as it is" in s.describe() for s in host(p))
    with pytest.raises(NetworkConflict, match="adds no port forwards"):
        plan(lab(spec("a", nics=(replace(plain, forwards=(fwd(80, None),)),))), facts(networks=net))
    with pytest.raises(NetworkConflict, match=r"already used with 10\.0\.2\.0/24"):
        plan(lab(spec("a", nics=(replace(plain, cidr="10.9.0.0/24"),))), facts(networks=net))


def _linked(ports_a: tuple[int, int] | None, ports_b: tuple[int, int] | None) -> Plan:
    e = lab(spec("a", state="poweroff", nics=(link("b", "10.99.0.1/24"),)),
            spec("b", state="poweroff", nics=(link("a", "auto"),)))
    seen = [observed(m, nics=(Nic("link", mac=f"08002700000{i}", link_port=p[0], peer_port=p[1]),))
            for i, (m, p) in enumerate((("a", ports_a), ("b", ports_b))) if p is not None]
    return plan(e, facts(*seen))


def test_a_link_whose_ends_have_no_ports_reserves_them_at_run_time() -> None:
    p = _linked(None, None)
    [reserve] = [s for s in host(p) if isinstance(s, ReserveLinkPorts)]
    assert reserve.machines == ("a", "b") and reserve.link == "a--b"
    assert p.machine("b").spec.nics[0].ip == "10.99.0.2/24"  # type: ignore[union-attr,index]


def test_a_link_end_made_again_takes_the_ports_of_the_end_that_has_them() -> None:
    p = _linked((2300, 2301), None)
    nic = p.machine("b").spec.nics[0]  # type: ignore[union-attr,index]
    assert (nic.link_port, nic.peer_port) == (2301, 2300)
    assert not any(isinstance(s, ReserveLinkPorts) for s in host(p))
    p = _linked((2300, 2301), (2301, 2300))
    assert any("UDP 127.0.0.1:2300 <-> 127.0.0.1:2301" in s.describe() for s in host(p))
    assert not [s for s in p.steps if not s.is_noop]


def _running(name: str, *nics: Nic, mac: str = "0800270000") -> ObservedMachine:
    return observed(name, power=PowerState.RUNNING, nics=(
        Nic("nat", forwards=(fwd(22, 2222 if name == "a" else 2223, "ssh"),), mac=f"{mac}A0"),
        *(replace(n, mac=f"{mac}{i:02X}", ip=None, peer=None) for i, n in enumerate(nics, 1))))


def test_guest_steps_set_link_addresses_and_names_after_the_wait_before_provisioning() -> None:
    from hosted.model import ProvisionStep

    step = ProvisionStep(kind="shell", name="hello", inline="true")
    e = lab(spec("a", nics=(SSH, link("b", "10.99.0.1/24")), hosts=True, provision=(step,)),
            spec("b", nics=(SSH, link("a", "10.99.0.2/24")), hosts=True))
    seen = (_running("a", Nic("link", link_port=2300, peer_port=2301)),
            _running("b", Nic("link", link_port=2301, peer_port=2300), mac="0800271111"))
    p = plan(e, facts(*seen, fingerprints={("a", "hello"): "f"}))
    kinds = [s.kind for s in p.machine("a").steps if not s.is_noop]  # type: ignore[union-attr]
    assert kinds == ["wait-ready", "set-addresses", "write-hosts", "provision"]
    hosts = next(s for s in p.machine("a").steps if isinstance(s, WriteHosts))  # type: ignore[union-attr]
    assert hosts.entries == (("10.99.0.2", "b"),) and "write /etc/hosts: b 10.99.0.2" in hosts.describe()
    addr = next(s for s in p.machine("a").steps if isinstance(s, SetAddresses))  # type: ignore[union-attr]
    assert addr.addresses == (("0800270000" "01", "10.99.0.1/24", "link to b"),)
    assert addr.reason == "addresses not set in this guest yet"


def test_recorded_guest_steps_are_noops_until_they_change_or_the_machine_boots() -> None:
    e = lab(spec("a", nics=(SSH, link("b", "10.99.0.1/24")), hosts=True),
            spec("b", nics=(SSH, link("a", "10.99.0.2/24")), hosts=True))
    a = _running("a", Nic("link", link_port=2300, peer_port=2301))
    b = _running("b", Nic("link", link_port=2301, peer_port=2300), mac="0800271111")
    done = MachineRecords(guest={
        "addresses": fingerprint([("080027000001", "10.99.0.1/24", "link to b")]),
        "hosts": fingerprint((("10.99.0.2", "b"),))})
    p = plan(e, facts(a, b, records={a.uuid: done}))
    steps = p.machine("a").steps  # type: ignore[union-attr]
    assert not [s for s in steps if not s.is_noop]
    assert "addresses: already set in the guest (recorded)" in [s.describe() for s in steps]
    p = plan(e, facts(replace(a, power=PowerState.POWEROFF), b, records={a.uuid: done}))
    again = [s for s in p.machine("a").steps if isinstance(s, SetAddresses | WriteHosts)]  # type: ignore[union-attr]
    assert [s.reason for s in again] == ["the machine boots: set again (idempotent)"] * 2


def test_addresses_hosteds_dhcp_hands_out_need_nothing_in_the_guest() -> None:
    e = lab(spec("a", nics=(SSH, internal())))
    p = plan(e, facts(_running("a", Nic("internal", network="labnet"))))
    steps = p.machine("a").steps  # type: ignore[union-attr]
    assert not any(isinstance(s, SetAddresses) for s in steps)
    dhcp = "10.20.0.11/24 on labnet: from hosted's DHCP server (fixed for 08:00:27:00:00:01)"
    assert any(s.describe() == dhcp for s in steps)
    static = lab(spec("a", nics=(SSH, internal(static=True))))
    assert any(isinstance(s, SetAddresses)
               for s in plan(static, facts(_running("a", Nic("internal", network="labnet")))).steps)


def test_without_an_ssh_forward_guest_steps_are_skipped_saying_why() -> None:
    e = lab(spec("a", nics=(link("b", "10.99.0.1/24"),)), spec("b", nics=(link("a", "auto"),)))
    p = plan(e, facts())
    a = p.machine("a")
    assert a is not None and not any(isinstance(s, SetAddresses) for s in a.steps)
    assert any("skipped (no NAT forward to guest port 22" in s.describe() for s in a.steps)


def test_a_seeded_machine_gets_addresses_and_names_from_its_seed(tmp_path: Any) -> None:
    from hosted.model import ImageSpec
    from hosted.steps import WriteSeed

    image = ImageSpec("cloud", str(tmp_path / "c.vdi"), cloud_init=True)
    e = Environment(ENV, "/p/hosted.yaml", (
        spec("a", image="cloud", nics=(SSH, internal()), hosts=True),
        spec("b", state="poweroff", nics=(internal("auto"),))), (image,))
    p = plan(e, facts())
    steps = p.machine("a").steps  # type: ignore[union-attr]
    seed = next(s for s in steps if isinstance(s, WriteSeed))
    assert seed.hosts == (("10.20.0.10", "b"),)
    assert "names: in the cloud-init seed" in [s.describe() for s in steps if isinstance(s, Noop)]


def _env_machine(name: str, *nics: Nic) -> ObservedMachine:
    return observed(name, nics=nics, tags=Tags(ENV, name, "x", "0"))


def test_a_network_hosted_created_goes_with_its_last_machine() -> None:
    a = _env_machine("a", Nic("internal", network="labnet"), Nic("natnetwork", network="nn"))
    b = _env_machine("b", Nic("internal", network="labnet"))
    net = NetworkState(dhcp=(owned_dhcp(), owned_dhcp("nn", "10.0.2.3")),
                       natnetworks=(NatNetworkInfo("nn", "10.0.2.0/24", True, owned=True),),
                       attachments=(Attachment(a.uuid, a.vm_name, "internal", "labnet"),
                                    Attachment(a.uuid, a.vm_name, "natnetwork", "nn"),
                                    Attachment(b.uuid, b.vm_name, "internal", "labnet")))
    e = lab(spec("a"), spec("b"))
    p = plan_destroy(e, facts(a, b, networks=net))
    removals = [(s.machine, s.target, s.network) for s in p.steps if isinstance(s, RemoveNetwork)]
    assert removals == [("a", "natnetwork", "nn"), ("b", "dhcp", "labnet")]
    p = plan_destroy(e, facts(a, b, networks=net), ["a"])
    assert [(s.target, s.network) for s in p.steps if isinstance(s, RemoveNetwork)] == [("natnetwork", "nn")]
    foreign = replace(net, natnetworks=(NatNetworkInfo("nn", "10.0.2.0/24", True, owned=False),))
    assert [s.network for s in plan_destroy(e, facts(a, b, networks=foreign)).steps
            if isinstance(s, RemoveNetwork)] == ["labnet"]


def test_up_removes_a_network_when_its_last_machine_is_gone_from_the_profile() -> None:
    old = _env_machine("old", Nic("internal", network="labnet"))
    net = NetworkState(dhcp=(owned_dhcp(),), attachments=(Attachment(old.uuid, old.vm_name, "internal",
                                                                      "labnet"),))
    p = plan(lab(spec("a", state="poweroff")), facts(old, networks=net))
    assert [s.kind for s in p.machine("old").steps] == ["destroy", "remove-network"]  # type: ignore[union-attr]
    p = plan(lab(spec("a", state="poweroff", nics=(internal(),))), facts(old, networks=net))
    assert [s.kind for s in p.machine("old").steps] == ["destroy"]  # type: ignore[union-attr]


def test_a_driverless_host_refuses_to_start_a_machine_whose_nics_need_the_driver() -> None:
    e = lab(spec("a", nics=(SSH, internal())))
    with pytest.raises(DriverMissing) as err:
        plan(e, facts(driverless=True))
    assert "machine 'a' cannot start here: VirtualBox runs without its kernel driver" in err.value.message
    assert "internal (labnet)" in err.value.message
    assert "internal, hostonly, bridged and natnetwork" in err.value.hint
    assert "state: poweroff" in err.value.hint
    off = plan(lab(spec("a", state="poweroff", nics=(internal(),))), facts(driverless=True))
    assert any("cannot start here" in w for w in off.warnings)
    linked = lab(spec("a", nics=(SSH, link("b", "auto"))), spec("b", nics=(link("a", "auto"),)))
    assert plan(linked, facts(driverless=True)).has_actions  # links need no driver


def test_network_steps_are_in_the_plans_json() -> None:
    p = plan(lab(spec("a", state="poweroff", nics=(internal(),))), facts())
    data = p.to_json()
    assert data["images"][0]["kind"] == "set-up-dhcp" and data["images"][0]["fixed"][0][1] == "10.20.0.11"
    assert {"network", "phase"} <= set(data["images"][0]) | {"phase"}


def test_only_plans_a_links_ports_when_one_of_its_machines_is_planned() -> None:
    e = lab(spec("a", state="poweroff", nics=(link("b"),)), spec("b", state="poweroff", nics=(link("a"),)),
            spec("c", state="poweroff"))
    assert not any(isinstance(s, ReserveLinkPorts) for s in plan(e, facts(), only=["c"]).images)
    assert any(isinstance(s, ReserveLinkPorts) for s in plan(e, facts(), only=["a"]).images)


def test_provision_is_not_a_network_step() -> None:
    assert not issubclass(Provision, SetAddresses)


def test_reset_sets_the_guests_addresses_and_names_again() -> None:
    from hosted.model import SnapshotInfo
    from hosted.planner import plan_reset

    e = lab(spec("a", nics=(SSH, link("b", "10.99.0.1/24")), hosts=True),
            spec("b", nics=(SSH, link("a", "10.99.0.2/24")), hosts=True))
    a = replace(_env_machine("a"), power=PowerState.RUNNING, nics=_running("a", Nic(
        "link", link_port=2300, peer_port=2301)).nics)
    base = SnapshotInfo("s1", "baseline", "hosted: baseline", 0.0, False, True, None)
    p = plan_reset(e, facts(a, snapshots={a.uuid: (base,)}), ["a"])
    kinds = [s.kind for s in p.machine("a").steps]  # type: ignore[union-attr]
    assert kinds[-4:] == ["start", "wait-ready", "set-addresses", "write-hosts"]


def test_a_host_only_network_with_no_server_gets_hosteds_with_a_fixed_address_per_mac() -> None:
    nic = Nic("hostonly", interface="vboxnet0", ip="192.168.56.10/24")
    p = plan(lab(spec("a", state="poweroff", nics=(SSH, nic))), facts())
    [dhcp] = [s for s in host(p) if isinstance(s, SetUpDhcpServer)]
    mac = stable_mac(ENV, "a", 1)
    assert dhcp.network == "HostInterfaceNetworking-vboxnet0" and dhcp.create
    assert dhcp.fixed == ((mac, "192.168.56.10", "a"),)
    assert ipaddress.IPv4Address(dhcp.server) in ipaddress.IPv4Network("192.168.56.0/24")
    assert dhcp.server != "192.168.56.10" and dhcp.lower <= dhcp.upper
    assert "host-only interface vboxnet0" in dhcp.describe()
    assert not any(isinstance(s, SetAddresses) for s in p.machines[0].steps), "DHCP hands it out"


def test_hosteds_own_host_only_server_already_serving_the_address_is_a_noop() -> None:
    first = plan(lab(spec("a", state="poweroff", nics=(SSH, Nic("hostonly", interface="vboxnet0",
                                                                   ip="192.168.56.10/24")))), facts())
    [made] = [s for s in host(first) if isinstance(s, SetUpDhcpServer)]
    served = DhcpServerInfo(made.network, made.server, made.netmask, made.lower, made.upper, True,
                            {mac: ip for mac, ip, _ in made.fixed}, True)
    a = observed("a", nics=(Nic("nat", mac=stable_mac(ENV, "a", 0)),
                            Nic("hostonly", interface="vboxnet0", mac=stable_mac(ENV, "a", 1))))
    again = plan(lab(spec("a", state="poweroff", nics=(nat(), Nic("hostonly", interface="vboxnet0",
                                                                   ip="192.168.56.10/24")))),
                 facts(a, networks=NetworkState(dhcp=(served,))))
    assert not again.has_actions
