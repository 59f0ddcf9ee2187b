"""Networks on real VirtualBox, checked independently with VBoxManage: `hosted up` of machines
(powered off: this host may lack the kernel driver) makes hosted's DHCP servers with their
fixed addresses (`list dhcpservers`), a NAT Network with the machines' forwards (`list
natnetworks`), the link's two ends (`showvminfo`); `hosted destroy` removes them; a DHCP
server hosted did not create is left as it was; and a driverless host refuses to start a
machine with an internal NIC."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from vbox_fixtures import VBOXMANAGE, make_virtualbox_backend, vboxmanage_info

from hosted import api
from hosted.errors import DriverMissing
from hosted.events import Recorder
from hosted.profile import load_profile

pytestmark = pytest.mark.vbox

PROFILE = """\
version: 1
name: {env}
machines:
  a:
    state: {state}
    memory: 32M
    nics:
      - nat: {{forwards: [{{name: ssh, guest: 22}}]}}
      - internal: {{network: {env}-lab, ip: 10.20.0.11/24}}
      - link: {{peer: b, ip: 10.99.0.1/24}}
      - natnetwork: {{network: {env}-nn, cidr: 10.30.0.0/24, ip: 10.30.0.15,
                     forwards: [{{name: web, guest: 80, host: auto}}]}}
  b:
    state: poweroff
    memory: 32M
    nics:
      - internal: {{network: {env}-lab, ip: auto}}
      - link: {{peer: a, ip: auto}}
      - natnetwork: {{network: {env}-nn, forwards: [{{name: ssh, guest: 22, host: auto}}]}}
"""


@pytest.fixture(scope="module")
def backend() -> Iterator[Any]:
    yield make_virtualbox_backend()


def vboxmanage(*args: str) -> str:
    return subprocess.run([VBOXMANAGE, *args], capture_output=True, text=True, check=True, timeout=60).stdout


def block(listing: str, key: str, value: str) -> str:
    """The paragraph of a `VBoxManage list` output whose ``key:`` is ``value``."""
    for part in listing.split("\n\n"):
        if any(line.split(":", 1)[0].strip() == key and line.split(":", 1)[1].strip() == value
               for line in part.splitlines() if ":" in line):
            return part
    raise AssertionError(f"no {key}: {value} in\n{listing}")


@pytest.fixture
def profile(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    env = f"net{uuid.uuid4().hex[:6]}"
    path = tmp_path / "hosted.yaml"
    path.write_text(PROFILE.format(env=env, state="poweroff"))
    yield env, path
    api.destroy(load_profile(path), yes=True)


def test_up_makes_dhcp_servers_a_nat_network_and_a_link_destroy_removes_them(
        backend: Any, profile: tuple[str, Path]) -> None:
    env_name, path = profile
    env = load_profile(path)
    result = api.up(env, yes=True, backend=backend, on_event=Recorder())
    assert result.ok, [(m.machine, m.error) for m in result.failed]
    a, b = (vboxmanage_info(f"{env_name}-{m}") for m in "ab")

    lab = block(vboxmanage("list", "dhcpservers"), "NetworkName", f"{env_name}-lab")
    assert "Dhcpd IP:       10.20.0.254" in lab and "LowerIPAddress: 10.20.0.128" in lab
    fixed = {line.split("MAC", 1)[1].strip(): nxt.split(":", 1)[1].strip()
             for line, nxt in zip(lab.splitlines(), lab.splitlines()[1:], strict=False)
             if "Individual Config" in line and "MAC" in line}
    mac = ":".join(a["macaddress2"][i:i + 2] for i in range(0, 12, 2)).lower()
    mac_b = ":".join(b["macaddress1"][i:i + 2] for i in range(0, 12, 2)).lower()
    assert {k.lower(): v for k, v in fixed.items()} == {mac: "10.20.0.11", mac_b: "10.20.0.10"}

    natnet = block(vboxmanage("list", "natnetworks", "--long"), "Name", f"{env_name}-nn")
    assert "Network:      10.30.0.0/24" in natnet
    assert f"{env_name}-a/web:tcp:[127.0.0.1]:" in natnet and ":[10.30.0.15]:80" in natnet
    assert f"{env_name}-b/ssh:tcp:[127.0.0.1]:" in natnet and ":[10.30.0.10]:22" in natnet
    nn_dhcp = block(vboxmanage("list", "dhcpservers"), "NetworkName", f"{env_name}-nn")
    assert "Dhcpd IP:       10.30.0.3" in nn_dhcp

    assert (a["nic2"], a["intnet2"], a["nic4"], a["nat-network4"]) == \
        ("intnet", f"{env_name}-lab", "natnetwork", f"{env_name}-nn")
    assert a["nic3"].lower() == b["nic2"].lower() == "generic"
    assert a["generic3"] == b["generic2"] == "UDPTunnel"
    ends = _link_ends(f"{env_name}-a", 3), _link_ends(f"{env_name}-b", 2)
    assert ends[0]["sport"] == ends[1]["dport"] and ends[0]["dport"] == ends[1]["sport"]
    assert ends[0]["dest"] == ends[1]["dest"] == "127.0.0.1"

    assert not api.plan(env, backend=backend).has_actions
    destroyed = api.destroy(env, yes=True, backend=backend)
    assert destroyed.ok
    names = vboxmanage("list", "dhcpservers") + vboxmanage("list", "natnetworks")
    assert env_name not in names


def _link_ends(vm: str, slot: int) -> dict[str, str]:
    """The UDPTunnel properties of adapter ``slot`` as `showvminfo` (human-readable) prints them."""
    out = vboxmanage("showvminfo", vm)
    line = next(x for x in out.splitlines() if x.startswith(f"NIC {slot}:"))
    props: dict[str, str] = {}
    for key in ("dest", "dport", "sport"):
        value = line.split(f"{key}=", 1)[1].split(",", 1)[0].split("}", 1)[0].split(" ", 1)[0]
        props[key] = value.strip("{}, '\"")
    return props


def test_a_dhcp_server_hosted_did_not_create_is_left_as_it_was(backend: Any, tmp_path: Path) -> None:
    env_name = f"net{uuid.uuid4().hex[:6]}"
    vboxmanage("dhcpserver", "add", f"--network={env_name}-lab", "--server-ip=10.20.0.2",
               "--netmask=255.255.255.0", "--lower-ip=10.20.0.100", "--upper-ip=10.20.0.200", "--enable")
    path = tmp_path / "hosted.yaml"
    path.write_text(PROFILE.format(env=env_name, state="poweroff"))
    env = load_profile(path)
    try:
        before = block(vboxmanage("list", "dhcpservers"), "NetworkName", f"{env_name}-lab")
        the_plan = api.plan(env, backend=backend)
        assert any("not hosted's; addresses are set inside the guests" in w for w in the_plan.warnings)
        assert api.up(env, yes=True, backend=backend, on_event=Recorder()).ok
        assert api.destroy(env, yes=True, backend=backend).ok
        assert block(vboxmanage("list", "dhcpservers"), "NetworkName", f"{env_name}-lab") == before
    finally:
        subprocess.run([VBOXMANAGE, "dhcpserver", "remove", f"--network={env_name}-lab"], check=False)
        api.destroy(env, yes=True, backend=backend)


def test_a_driverless_host_refuses_to_start_a_machine_with_an_internal_nic(backend: Any,
                                                                         tmp_path: Path) -> None:
    if dict(backend.info().details).get("kernel_driver") != "no":
        pytest.skip("VirtualBox has its kernel driver here")
    env_name = f"net{uuid.uuid4().hex[:6]}"
    path = tmp_path / "hosted.yaml"
    path.write_text(PROFILE.format(env=env_name, state="running"))
    with pytest.raises(DriverMissing) as err:
        api.plan(load_profile(path), backend=backend)
    assert f"machine 'a' cannot start here: VirtualBox runs without its kernel driver, and its NICs " \
           f"internal ({env_name}-lab), natnetwork ({env_name}-nn) need it" == err.value.message
    assert env_name not in vboxmanage("list", "vms")
