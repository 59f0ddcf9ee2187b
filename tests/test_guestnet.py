"""The scripts that set addresses and names inside a guest, and the cloud-init seed's share."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from hosted.guestnet import addresses_script, hosts_script
from hosted.images.seed import network_config, with_hosts
from hosted.model import MachineSpec, Nic


def run(script: str) -> str:
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout


def test_the_hosts_block_is_written_once_and_replaced_when_it_changes(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n# BEGIN hosted other\n10.1.1.1 x\n# END hosted other\n")
    assert "updated" in run(hosts_script("lab", [("10.99.0.2", "b"), ("10.20.0.12", "db")], str(hosts)))
    first = hosts.read_text()
    assert first.endswith("# BEGIN hosted lab\n10.99.0.2 b\n10.20.0.12 db\n# END hosted lab\n")
    assert "10.1.1.1 x" in first and first.startswith("127.0.0.1 localhost\n")
    assert "unchanged" in run(hosts_script("lab", [("10.99.0.2", "b"), ("10.20.0.12", "db")], str(hosts)))
    assert hosts.read_text() == first
    run(hosts_script("lab", [("10.99.0.3", "b")], str(hosts)))
    assert hosts.read_text().count("# BEGIN hosted lab") == 1 and "10.99.0.3 b" in hosts.read_text()
    assert "10.20.0.12" not in hosts.read_text()


def test_a_missing_hosts_file_is_created(tmp_path: Path) -> None:
    run(hosts_script("lab", [("10.99.0.2", "b")], str(tmp_path / "hosts")))
    assert (tmp_path / "hosts").read_text() == "# BEGIN hosted lab\n10.99.0.2 b\n# END hosted lab\n"


@pytest.mark.parametrize("shell", ["sh", "busybox"])
def test_the_address_script_is_valid_posix_sh(shell: str) -> None:
    argv = ["busybox", "sh", "-n"] if shell == "busybox" else ["sh", "-n"]
    if shutil.which(argv[0]) is None:
        pytest.skip(f"no {argv[0]} here")
    script = addresses_script([("080027AABBCC", "10.99.0.1/24", "link to b"),
                               ("080027AABBCD", "10.20.0.11/24", "labnet")])
    subprocess.run([*argv, "-c", script], check=True)
    assert "iface_of 08:00:27:aa:bb:cc" in script and 'ip addr add 10.99.0.1/24 dev "$n"' in script
    assert "/etc/netplan/60-hosted.yaml" in script and "/etc/network/interfaces.d/60-hosted" in script


def test_the_seed_has_a_network_config_matching_nics_by_mac() -> None:
    machine = MachineSpec("a", "lab-a", nics=(Nic("nat", mac="080027000001"),
                                              Nic("internal", network="n", ip="10.20.0.11/24",
                                                  mac="080027000002")))
    config = yaml.safe_load(network_config(machine) or "")
    assert config == {"version": 2, "ethernets": {
        "hosted0": {"match": {"macaddress": "08:00:27:00:00:01"}, "dhcp4": True},
        "hosted1": {"match": {"macaddress": "08:00:27:00:00:02"}, "addresses": ["10.20.0.11/24"],
                    "optional": True}}}
    assert network_config(MachineSpec("a", "lab-a", nics=(Nic("nat"),))) is None


def test_the_seed_keeps_the_other_machines_names_with_a_per_boot_script() -> None:
    text = with_hosts("#cloud-config\nhostname: a\n", "lab", (("10.20.0.12", "b"),))
    config = yaml.safe_load(text)
    [entry] = config["write_files"]
    assert entry["path"] == "/var/lib/cloud/scripts/per-boot/60-hosted-hosts"
    assert "10.20.0.12 b" in entry["content"] and config["hostname"] == "a"
    assert with_hosts("#cloud-config\n", "lab", ()) == "#cloud-config\n"
