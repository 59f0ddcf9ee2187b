"""Networks through the runner on the backend double: `up` creates hosted's DHCP servers and
NAT Networks, agrees on link ports, converges on a rerun, never touches what hosted did not
create, and `destroy` removes a network with its last machine.  The CLI's plan, status and the
driverless refusal, through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import cli_support
import pytest
from double import MemoryBackend

from hosted import api
from hosted.cli.main import main
from hosted.errors import DriverMissing
from hosted.events import Recorder
from hosted.model import Environment
from hosted.ports import PortAllocator
from hosted.profile import load_profile

PROFILE = """\
version: 1
name: {name}
machines:
  a:
    state: poweroff
    nics:
      - nat: {{forwards: [{{name: ssh, guest: 22}}]}}
      - internal: {{network: {name}-net, ip: 10.20.0.11/24}}
      - link: {{peer: b, ip: 10.99.0.1/24}}
      - natnetwork: {{network: {name}-nn, forwards: [{{name: web, guest: 80, host: auto}}]}}
  b:
    state: {state}
    nics:
      - internal: {{network: {name}-net, ip: auto}}
      - link: {{peer: a, ip: auto}}
"""


def write(tmp_path: Path, name: str = "lab", state: str = "poweroff") -> Path:
    path = tmp_path / "hosted.yaml"
    path.write_text(PROFILE.format(name=name, state=state))
    return path


@pytest.fixture
def backend(tmp_path: Path) -> MemoryBackend:
    return MemoryBackend(root=tmp_path / "vms", ports=PortAllocator(tmp_path / "ports"))


def up(env: Environment, backend: MemoryBackend) -> None:
    result = api.up(env, yes=True, backend=backend, on_event=Recorder())
    assert result.ok, [(m.machine, m.error) for m in result.failed]


def test_up_makes_the_networks_and_a_rerun_has_nothing_to_do(tmp_path: Path, backend: MemoryBackend) -> None:
    env = load_profile(write(tmp_path))
    up(env, backend)
    state = backend.list_networks()
    server = state.dhcp_server("lab-net")
    assert server is not None and server.owned and server.server == "10.20.0.254"
    machines = {m.label: m for m in backend.list_machines(env.name)}
    a_mac, b_mac = machines["a"].nics[1].mac, machines["b"].nics[0].mac
    assert dict(server.fixed) == {a_mac: "10.20.0.11", b_mac: "10.20.0.10"}
    natnet = state.natnetwork("lab-nn")
    assert natnet is not None and natnet.owned and natnet.cidr == "10.0.2.0/24"
    [rule] = natnet.rules
    assert rule.name == "lab-a/web" and rule.guest_ip == "10.0.2.10" and rule.host is not None
    assert machines["a"].nics[3].forwards[0].name == "web"  # read back as the machine's own forward
    a_link, b_link = machines["a"].nics[2], machines["b"].nics[1]
    assert a_link.link_port is not None and (a_link.link_port, a_link.peer_port) == \
        (b_link.peer_port, b_link.link_port)
    assert not api.plan(env, backend=backend).has_actions


def test_a_link_end_made_again_gets_the_ports_the_other_end_has(tmp_path: Path,
                                                                 backend: MemoryBackend) -> None:
    env = load_profile(write(tmp_path))
    up(env, backend)
    before = {m.label: m for m in backend.list_machines(env.name)}["a"].nics[2]
    assert api.destroy(env, ["b"], yes=True, backend=backend).ok
    up(env, backend)
    b = {m.label: m for m in backend.list_machines(env.name)}["b"].nics[1]
    assert (b.link_port, b.peer_port) == (before.peer_port, before.link_port)


def test_destroy_removes_the_networks_with_their_last_machine_and_never_a_foreign_one(
        tmp_path: Path, backend: MemoryBackend) -> None:
    backend.add_foreign_dhcp("HostInterfaceNetworking-vboxnet0")
    env = load_profile(write(tmp_path))
    up(env, backend)
    assert api.destroy(env, ["a"], yes=True, backend=backend).ok
    state = backend.list_networks()
    assert state.natnetwork("lab-nn") is None and state.dhcp_server("lab-nn") is None  # a was its last
    assert state.dhcp_server("lab-net") is not None  # b is still on it
    result = api.destroy(env, yes=True, backend=backend)
    assert result.ok and any("remove the DHCP server" in c for m in result.machines for c in m.changed)
    assert [d.network for d in backend.list_networks().dhcp] == ["HostInterfaceNetworking-vboxnet0"]


def test_another_environment_on_the_same_network_keeps_it(tmp_path: Path, backend: MemoryBackend) -> None:
    first = load_profile(write(tmp_path))
    (tmp_path / "two").mkdir()
    text = PROFILE.format(name="other", state="poweroff").replace("other-net", "lab-net")
    (tmp_path / "two" / "hosted.yaml").write_text(text.replace("10.20.0.11", "10.20.0.21"))
    second = load_profile(tmp_path / "two" / "hosted.yaml")
    up(first, backend)
    up(second, backend)
    server = backend.list_networks().dhcp_server("lab-net")
    assert server is not None and len(server.fixed) == 4
    assert api.destroy(first, yes=True, backend=backend).ok
    server = backend.list_networks().dhcp_server("lab-net")
    assert server is not None and sorted(server.fixed.values()) == ["10.20.0.12", "10.20.0.21"]


def test_a_driverless_host_refuses_before_anything_changes(tmp_path: Path, backend: MemoryBackend) -> None:
    backend.driverless = True
    env = load_profile(write(tmp_path, state="running"))
    with pytest.raises(DriverMissing) as err:
        api.up(env, yes=True, backend=backend)
    assert "machine 'b' cannot start here" in err.value.message and "internal (lab-net)" in err.value.message
    assert backend.list_machines() == [] and backend.list_networks().dhcp == ()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cli_support.reset()
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")
    monkeypatch.chdir(tmp_path)
    return write(tmp_path)


def test_plan_shows_the_network_steps_then_status_the_addresses(
        cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan"]) == 0
    out = capsys.readouterr().out
    assert "this host (images and networks)" in out
    assert "+ create the DHCP server of internal network lab-net (10.20.0.254, pool 10.20.0.128-" \
           "10.20.0.253); fixed: a 10.20.0.11, b 10.20.0.10" in out
    assert "+ choose the UDP ports of the link a <-> b (neither end has its ports yet)" in out
    assert "+ create NAT Network lab-nn (10.0.2.0/24)" in out
    assert main(["up"]) == 0
    capsys.readouterr()
    assert main(["plan"]) == 0
    out = capsys.readouterr().out
    assert "= the DHCP server of internal network lab-net already serves 10.20.0.0/24" in out
    assert "= link a <-> b: UDP 127.0.0.1:" in out and "Nothing to do" in out
    assert main(["status", "--json"]) == 0
    rows = {r["machine"]: r for r in json.loads(capsys.readouterr().out)["machines"]}
    assert rows["b"]["addresses"] == ["10.20.0.10/24 on internal lab-net", "10.99.0.2/24 on link to a"]
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "addresses" in out and "10.99.0.1/24" in out


def test_the_driverless_refusal_as_the_cli_shows_it(cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli.write_text(PROFILE.format(name="lab", state="running"), encoding="utf-8")
    cli_support.shared().driverless = True
    assert main(["up", "--yes"]) == 1
    err = capsys.readouterr()
    text = err.out + err.err
    assert "machine 'b' cannot start here: VirtualBox runs without its kernel driver, and its NICs " \
           "internal (lab-net) need it" in " ".join(text.split())
    assert "state: poweroff" in text
    assert cli_support.shared().list_machines() == []


def test_a_host_only_network_gets_hosteds_dhcp_server_and_loses_it_with_its_last_machine(
        tmp_path: Path, backend: MemoryBackend) -> None:
    path = tmp_path / "hosted.yaml"
    path.write_text("version: 1\nname: ho\nmachines:\n  a:\n    state: poweroff\n    nics:\n"
                    "      - nat: {forwards: [{name: ssh, guest: 22}]}\n"
                    "      - hostonly: {interface: vboxnet0, ip: 192.168.56.10/24}\n", encoding="utf-8")
    env = load_profile(path)
    up(env, backend)
    server = backend.list_networks().dhcp_server("HostInterfaceNetworking-vboxnet0")
    [a] = backend.list_machines(env.name)
    assert server is not None and server.owned and dict(server.fixed) == {a.nics[1].mac: "192.168.56.10"}
    assert not api.plan(env, backend=backend).has_actions
    assert api.destroy(env, yes=True, backend=backend).ok
    assert backend.list_networks().dhcp_server("HostInterfaceNetworking-vboxnet0") is None
