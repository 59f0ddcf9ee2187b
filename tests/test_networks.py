"""hosted.networks (pure) and `hosted doctor`'s network checks."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from hosted.backend.virtualbox.diagnose import Probe, check_hostonly_ranges, check_kernel_driver
from hosted.networks import (
    NetworkKey,
    dhcp_layout,
    free_addresses,
    hostonly_allowed,
    hostonly_ranges,
    mac_colons,
    stable_mac,
)


def net(text: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(text)


def test_networks_conf_ranges() -> None:
    assert hostonly_ranges(None) == (net("192.168.56.0/21"),)
    text = "# allowed\n* 10.0.0.0/8 192.168.0.0/16\n* 2001::/64\nbogus line\n"
    assert hostonly_ranges(text) == (net("10.0.0.0/8"), net("192.168.0.0/16"))
    assert hostonly_allowed(net("192.168.57.0/24"), hostonly_ranges(None))
    assert not hostonly_allowed(net("192.168.64.0/24"), hostonly_ranges(None))


def test_dhcp_layouts() -> None:
    internal = dhcp_layout(NetworkKey("internal", "n"), net("10.20.0.0/24"))
    assert (internal.server, internal.lower, internal.upper, internal.gateway) == \
        ("10.20.0.254", "10.20.0.128", "10.20.0.253", None)
    natnet = dhcp_layout(NetworkKey("natnetwork", "n"), net("10.0.2.0/24"))
    assert (natnet.server, natnet.lower, natnet.upper, natnet.gateway) == \
        ("10.0.2.3", "10.0.2.4", "10.0.2.254", "10.0.2.1")


def test_auto_addresses_start_at_10_and_skip_what_is_taken_or_reserved() -> None:
    got = free_addresses(NetworkKey("hostonly", "vboxnet0"), net("192.168.56.0/24"), {"192.168.56.10"})
    assert next(got) == "192.168.56.11"
    link = free_addresses(NetworkKey("link", "a--b"), net("10.99.0.0/30"), ())
    assert list(link) == ["10.99.0.1", "10.99.0.2"]


def test_stable_macs_are_virtualbox_macs_and_stable() -> None:
    mac = stable_mac("lab", "a", 1)
    assert mac.startswith("080027") and len(mac) == 12 and mac == stable_mac("lab", "a", 1)
    assert mac != stable_mac("lab", "a", 2) and mac_colons("080027AABBCC") == "08:00:27:aa:bb:cc"


def probe(**kw: Any) -> Probe:
    fields: dict[str, Any] = {"system": "Linux", "has_kernel_driver": lambda system: False,
                              "read_networks_conf": lambda: None}
    fields.update(kw)
    return Probe(**fields)


def test_doctor_names_the_nic_kinds_a_driverless_host_cannot_start() -> None:
    check = check_kernel_driver(probe())
    assert check.status == "warn"
    assert "machines with internal, hostonly, bridged, natnetwork NICs cannot start (nat and link NICs can)" \
        in check.detail


def test_doctor_shows_the_host_only_ranges_and_how_to_change_them(tmp_path: Path) -> None:
    default = check_hostonly_ranges(probe())
    assert default.status == "ok" and "192.168.56.0/21 (VirtualBox's default" in default.detail
    assert "/etc/vbox/networks.conf" in default.detail
    custom = check_hostonly_ranges(probe(read_networks_conf=lambda: "* 10.0.0.0/8\n"))
    assert "may use 10.0.0.0/8 (/etc/vbox/networks.conf)" in custom.detail
    empty = check_hostonly_ranges(probe(read_networks_conf=lambda: "# nothing\n"))
    assert empty.status == "warn" and "* 10.0.0.0/8" in empty.hint
    assert check_hostonly_ranges(probe(system="Windows")).detail.endswith("any range on Windows")
