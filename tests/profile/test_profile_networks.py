"""Networks in the profile: ip on internal, host-only, NAT Network and link NICs, natnetwork
and link NICs, hosts, and every way the network checks across machines refuse a profile."""

from __future__ import annotations

import pytest
from profile_types import Load, Reject

from hosted.model import Forward, Nic

TWO = """
version: 1
name: lab
machines:
  a:
    nics:
      - nat: {forwards: [{name: ssh, guest: 22}]}
      - internal: {network: labnet, ip: 10.20.0.11}
      - link: {peer: b, ip: 10.99.0.1/30}
      - natnetwork: {network: nn, cidr: 10.30.0.0/24, forwards: [{guest: 80, host: auto}]}
  b:
    nics:
      - internal: {network: labnet, ip: auto, static: true}
      - link: {peer: a}
      - hostonly: {interface: vboxnet0, ip: 192.168.56.10/24}
"""


def test_network_keys_become_nics(load: Load) -> None:
    env = load(TWO)
    a, b = env.machines
    assert a.nics == (
        Nic("nat", forwards=(Forward("ssh", 22, None),)),
        Nic("internal", network="labnet", ip="10.20.0.11/24"),
        Nic("link", peer="b", ip="10.99.0.1/30"),
        Nic("natnetwork", network="nn", cidr="10.30.0.0/24", forwards=(Forward("tcp80", 80, None),)),
    )
    assert b.nics == (Nic("internal", network="labnet", ip="auto", static=True), Nic("link", peer="a"),
                      Nic("hostonly", interface="vboxnet0", ip="192.168.56.10/24"))
    assert a.hosts and b.hosts  # the default with several machines


def test_hosts_is_off_for_one_machine_unless_asked(load: Load) -> None:
    one = "version: 1\nname: x\nmachines:\n  a: {}\n"
    assert not load(one).machines[0].hosts
    assert load(one.replace("a: {}", "a: {hosts: true}")).machines[0].hosts
    assert not load(TWO.replace("machines:\n", "defaults: {hosts: false}\nmachines:\n")).machines[0].hosts


def machines(a: str, b: str = "nics: [{link: {peer: a}}]") -> str:
    return f"version: 1\nname: lab\nmachines:\n  a:\n    {a}\n  b:\n    {b}\n"  # a on line 5, b on 7


# (profile, line, key path, words in the message, words in the hint)
CASES = [
    pytest.param(machines("nics: [{internal: {network: n, ip: 10.20.0}}]"), 5,
                 "machines.a.nics[0].internal.ip", "is not an IPv4 address", "", id="ip-garbage"),
    pytest.param(machines("nics: [{internal: {network: n, ip: 10.20.0.1/31}}]"), 5,
                 "machines.a.nics[0].internal.ip", "the prefix must be /8 to /30", "", id="ip-prefix"),
    pytest.param(machines("nics: [{internal: {network: n, ip: 10.20.0.1/30}}]", "{}"), 5,
                 "machines.a.nics[0].internal.ip", "needs a prefix of at most /29", "Only a link",
                 id="ip-prefix-dhcp"),
    pytest.param(machines("nics: [{internal: {network: n, ip: 10.20.0.0/24}}]"), 5,
                 "machines.a.nics[0].internal.ip", "network's own or its broadcast", "", id="ip-network"),
    pytest.param(machines("nics: [{natnetwork: {network: n, cidr: 10.0.2.1/24}}]"), 5,
                 "machines.a.nics[0].natnetwork.cidr", "is not a network", "", id="cidr-host-bits"),
    pytest.param(machines("nics: [{link: {peer: c}}]"), 5, "machines.a.nics[0].link.peer",
                 "no machine named 'c'", "Machines of this profile: a, b", id="link-unknown"),
    pytest.param(machines("nics: [{link: {peer: a}}]"), 5, "machines.a.nics[0].link.peer",
                 "not a machine to itself", "another machine", id="link-self"),
    pytest.param(machines("nics: [{link: {peer: b}}]", "nics: [nat]"), 5, "machines.a.nics[0].link.peer",
                 "machine 'b' has no link back to 'a'", "Add `- link: {peer: a}` to the nics of machine 'b'",
                 id="link-one-ended"),
    pytest.param(machines("nics: [{link: {peer: b}}, {link: {peer: b}}]"), 5,
                 "machines.a.nics[0].link.peer", "two links from 'a' to 'b'", "one link", id="link-twice"),
    pytest.param(machines("nics: [{internal: {network: n, ip: 10.20.0.11}}]",
                          "nics: [{internal: {network: n, ip: 10.30.0.12}}]"), 7,
                 "machines.b.nics[0].internal.ip",
                 "10.30.0.12/24 is not in the range of internal network n (10.20.0.0/24), set by "
                 "10.20.0.11/24 of machine 'a'", "same range", id="two-ranges"),
    pytest.param(machines("nics: [{internal: {network: n, ip: 10.20.0.11}}]",
                          "nics: [{internal: {network: n, ip: 10.20.0.11}}]"), 7,
                 "machines.b.nics[0].internal.ip", "10.20.0.11 is already the address of another NIC",
                 "its own address", id="duplicate"),
    pytest.param(machines("nics: [{internal: {network: n, ip: 10.20.0.254}}]", "{}"), 5,
                 "machines.a.nics[0].internal.ip", "is hosted's DHCP server for the network", "",
                 id="dhcp-ip"),
    pytest.param(machines("nics: [{natnetwork: {network: n, ip: 10.0.2.1}}]", "{}"), 5,
                 "machines.a.nics[0].natnetwork.ip", "the NAT Network's gateway", "", id="gateway"),
    pytest.param(machines("nics: [{hostonly: {interface: vboxnet0, ip: 192.168.56.1}}]", "{}"), 5,
                 "machines.a.nics[0].hostonly.ip", "the host's own address", "", id="host-address"),
    pytest.param(machines("nics: [{natnetwork: {network: n, cidr: 10.1.0.0/24, ip: 10.2.0.5}}]", "{}"), 5,
                 "machines.a.nics[0].natnetwork.ip",
                 "not in the range of NAT Network n (10.1.0.0/24), set by the NAT Network's cidr", "",
                 id="natnet-outside-cidr"),
    pytest.param(machines("nics: [{natnetwork: {network: n, cidr: 10.1.0.0/24}}]",
                          "nics: [{natnetwork: {network: n, cidr: 10.2.0.0/24}}]"), 7,
                 "machines.b.nics[0].natnetwork.cidr", "NAT Network 'n' is 10.1.0.0/24 at "
                 "machines.a.nics[0].natnetwork.cidr, here 10.2.0.0/24", "same `cidr`",
                 id="natnet-two-cidrs"),
    pytest.param(machines("nics: [{natnetwork: {network: n, forwards: [{guest: 1, host: 9000}]}}]",
                          "nics: [{nat: {forwards: [{guest: 2, host: 9000}]}}]"), 7,
                 "machines.b.nics[0].nat.forwards[0].host", "already forwarded by machine 'a'", "host: auto",
                 id="natnet-port-clash"),
    pytest.param(machines("nics: [{natnetwork: {network: n, forwards: [{guest: 1}, {guest: 1}]}}]", "{}"), 5,
                 "machines.a.nics[0].natnetwork.forwards[1]", "two forwards are named 'tcp1'", "name",
                 id="natnet-forward-names"),
]


@pytest.mark.parametrize(("text", "line", "key", "message", "hint"), CASES)
def test_rejected(reject: Reject, text: str, line: int, key: str, message: str, hint: str) -> None:
    err = reject(text)
    assert err.key == key and err.line == line, str(err)
    assert message in err.reason, str(err)
    assert hint in err.hint
