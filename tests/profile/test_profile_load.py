"""Valid profiles and what they map to in hosted.model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from profile_types import Load, Write

from hosted import model
from hosted.profile import load_profile

REPO = Path(__file__).resolve().parents[2]

FULL = """
version: 1
name: demo
defaults: {cpus: 1, memory: 1024}
machines:
  web:
    os_type: Debian_64
    cpus: 2
    memory: 2048
    disk: 10G
    firmware: bios
    state: running
    nics:
      - nat:
          forwards:
            - {name: ssh, guest: 22, host: auto}
            - {guest: 8000, host: 8000}
      - internal: {network: labnet}
      - hostonly: {interface: vboxnet0}
      - bridged: {interface: eth0, adapter: virtio}
    shared_folders:
      - {host: ./src, guest: /srv/src}
  db: {}
"""


def test_the_documented_example_maps_onto_the_model(load: Load, profile_dir: Path) -> None:
    env = load(FULL)
    assert env.name == "demo"
    assert env.path == str(profile_dir / "hosted.yaml")
    assert [m.name for m in env.machines] == ["web", "db"]
    web = env.machines[0]
    assert (web.vm_name, web.os_type, web.cpus, web.memory_mb, web.disk_mb, web.firmware, web.state) == \
        ("demo-web", "Debian_64", 2, 2048, 10240, "bios", "running")
    assert web.nics == (
        model.Nic("nat", forwards=(
            model.Forward(name="ssh", guest=22, host=None),
            model.Forward(name="tcp8000", guest=8000, host=8000, host_ip="127.0.0.1"),
        )),
        model.Nic("internal", network="labnet"),
        model.Nic("hostonly", interface="vboxnet0"),
        model.Nic("bridged", interface="eth0", adapter_type="virtio"),
    )
    assert web.shared_folders == (
        model.SharedFolder(name="srv_src", host=str(profile_dir / "src"), guest="/srv/src"),
    )
    db = env.machines[1]
    assert (db.vm_name, db.cpus, db.memory_mb, db.state) == ("demo-db", 1, 1024, "running")
    assert db.nics is None and db.shared_folders is None and db.disk_mb is None and db.os_type is None
    assert db.ssh == model.SshSpec() and db.ready == model.ReadySpec() and db.provision == ()


def test_defaults_merge_under_each_machine(load: Load) -> None:
    env = load("""
        version: 1
        name: t
        defaults:
          cpus: 2
          memory: 512
          nics: [nat, {internal: {network: lab}}]
          ssh: {user: admin, port: 2200}
          ready: {tcp: 10, command: 'true'}
          provision: [{shell: echo default}]
        machines:
          a: {}
          b:
            cpus: 4
            nics: [{internal: {network: other}}]
            ssh: {port: 22}
            ready: {ssh: 5}
            provision: []
    """)
    a, b = env.machines
    assert (a.cpus, a.memory_mb, b.cpus, b.memory_mb) == (2, 512, 4, 512)
    assert a.nics == (model.Nic("nat"), model.Nic("internal", network="lab"))
    assert b.nics == (model.Nic("internal", network="other"),), "lists replace, never merge"
    assert a.ssh == model.SshSpec(user="admin", port=2200)
    assert b.ssh == model.SshSpec(user="admin", port=22), "ssh merges key by key"
    assert b.ready == model.ReadySpec(tcp=10, ssh=5, command="true")
    assert [s.inline for s in a.provision] == ["echo default"]
    assert b.provision == (), "an empty list replaces the default list"


@pytest.mark.parametrize(("memory", "mb"), [
    ("512", 512), ("'2048'", 2048), ("512M", 512), ("512MB", 512), ("2G", 2048), ("2g", 2048),
    ("2GiB", 2048), ("1.5G", 1536), ("1T", 1024 * 1024), ("4096K", 4), ("'64 M'", 64),
])
def test_memory_units(load: Load, memory: str, mb: int) -> None:
    env = load(f"version: 1\nname: t\nmachines:\n  a: {{memory: {memory}}}\n")
    assert env.machines[0].memory_mb == mb


@pytest.mark.parametrize(("disk", "mb"), [("10G", 10240), ("100", 100), ("1T", 1048576), ("20480M", 20480)])
def test_disk_units(load: Load, disk: str, mb: int) -> None:
    assert load(f"version: 1\nname: t\nmachines:\n  a: {{disk: {disk}}}\n").machines[0].disk_mb == mb


def test_paths_are_relative_to_the_profile_and_made_absolute(
    write: Write, profile_dir: Path, monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    write("""
        version: 1
        name: t
        machines:
          a:
            dvd: disk.iso
            ssh: {private_key: ./id_test}
            shared_folders: [{host: src/, guest: /mnt/x}]
            provision:
              - shell: {script: setup.sh}
              - file: {source: src/README, destination: /tmp/README}
    """)
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    relative = os.path.relpath(profile_dir / "hosted.yaml")
    env = load_profile(relative, {})
    assert env.path == str(profile_dir / "hosted.yaml")
    m = env.machines[0]
    assert m.dvd == str(profile_dir / "disk.iso")
    assert m.ssh.private_key == str(profile_dir / "id_test")
    assert m.shared_folders is not None and m.shared_folders[0].host == str(profile_dir / "src")
    assert m.provision[0].script == str(profile_dir / "setup.sh")
    assert m.provision[1].source == str(profile_dir / "src" / "README")


def test_absolute_paths_are_kept(load: Load, profile_dir: Path) -> None:
    env = load(f"version: 1\nname: t\nmachines:\n  a: {{dvd: {profile_dir / 'disk.iso'}}}\n")
    assert env.machines[0].dvd == str(profile_dir / "disk.iso")


@pytest.mark.parametrize(("value", "environ", "expected"), [
    ("${OS}", {"OS": "Debian_64"}, "Debian_64"),
    ("${OS:-Ubuntu_64}", {}, "Ubuntu_64"),
    ("${OS:-Ubuntu_64}", {"OS": "Arch_64"}, "Arch_64"),
    ("${OS:-Ubuntu_64}", {"OS": ""}, "Ubuntu_64"),
    ("${OS:-}", {}, ""),
    ("Linux${BITS}", {"BITS": "_64"}, "Linux_64"),
    ("${A}-${B:-x}", {"A": "a"}, "a-x"),
    ("${OS}", {"OS": "123"}, "123"),
])
def test_variables(load: Load, value: str, environ: dict[str, str], expected: str) -> None:
    env = load(f"version: 1\nname: t\nmachines:\n  a:\n    provision: [{{shell: \"{value}\"}}]\n",
               environ=environ)
    assert env.machines[0].provision[0].inline == expected


def test_a_variable_that_looks_like_a_number_stays_a_string_in_a_string_key(load: Load) -> None:
    env = load("version: 1\nname: t\nmachines:\n  a:\n    os_type: ${OS}\n", environ={"OS": "123"})
    assert env.machines[0].os_type == "123"


def test_substituted_numbers_and_flags_are_typed(load: Load) -> None:
    env = load("""
        version: 1
        name: ${ENV_NAME:-lab}
        machines:
          a:
            cpus: ${CPUS}
            memory: ${MEM:-1G}
            baseline: ${BASELINE:-false}
            ready: {tcp: '${WAIT:-2.5}'}
            nics: [{nat: {forwards: [{guest: 22, host: "${PORT:-auto}"}]}}]
    """, environ={"CPUS": "3", "BASELINE": "true"})
    m = env.machines[0]
    assert (env.name, m.vm_name, m.cpus, m.memory_mb, m.baseline, m.ready.tcp) == \
        ("lab", "lab-a", 3, 1024, True, 2.5)
    assert m.nics is not None and m.nics[0].forwards[0].host is None


def test_environ_defaults_to_the_process_environment(write: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTED_TEST_OS", "Fedora_64")
    env = load_profile(write("version: 1\nname: t\nmachines:\n  a: {os_type: '${HOSTED_TEST_OS}'}\n"))
    assert env.machines[0].os_type == "Fedora_64"


def test_dollar_dollar_brace_is_a_literal(load: Load) -> None:
    env = load("version: 1\nname: t\nmachines:\n  a:\n    provision: [{shell: 'echo $${HOME} $$ $x'}]\n")
    assert env.machines[0].provision[0].inline == "echo ${HOME} $$ $x"


def test_forward_defaults(load: Load) -> None:
    env = load("""
        version: 1
        name: t
        machines:
          a:
            nics:
              - nat:
                  adapter: 82540EM
                  forwards:
                    - {guest: 53, protocol: udp}
                    - {guest: 22, host: 2222, host_ip: '', guest_ip: 10.0.2.15}
    """)
    nics = env.machines[0].nics
    assert nics == (model.Nic("nat", adapter_type="82540EM", forwards=(
        model.Forward(name="udp53", guest=53, host=None, protocol="udp"),
        model.Forward(name="tcp22", guest=22, host=2222, host_ip="", guest_ip="10.0.2.15"),
    )),)


def test_bare_and_empty_nic_entries(load: Load) -> None:
    env = load("version: 1\nname: t\nmachines:\n  a:\n    nics: [nat, hostonly, {bridged: }, {nat: }]\n")
    assert env.machines[0].nics == (model.Nic("nat"), model.Nic("hostonly"), model.Nic("bridged"),
                                    model.Nic("nat"))


def test_same_host_port_with_other_protocol_or_address_is_fine(load: Load) -> None:
    env = load("""
        version: 1
        name: t
        machines:
          a: {nics: [{nat: {forwards: [{guest: 53, host: 5353}]}}]}
          b: {nics: [{nat: {forwards: [{guest: 53, host: 5353, protocol: udp}]}}]}
          c: {nics: [{nat: {forwards: [{guest: 53, host: 5353, host_ip: 127.0.0.2}]}}]}
          d: {nics: [{nat: {forwards: [{guest: 22, host: auto}]}}]}
          e: {nics: [{nat: {forwards: [{guest: 22, host: auto}]}}]}
    """)
    assert len(env.machines) == 5


@pytest.mark.parametrize(("folder", "name"), [
    ("{host: src, guest: /srv/src}", "srv_src"),
    ("{host: src, guest: /vagrant}", "vagrant"),
    ("{host: src, guest: '/home/me/my files/'}", "home_me_my_files"),
    ("{host: src}", "src"),
    ("{host: src, guest: /x, name: code}", "code"),
])
def test_shared_folder_names(load: Load, folder: str, name: str) -> None:
    env = load(f"version: 1\nname: t\nmachines:\n  a:\n    shared_folders: [{folder}]\n")
    folders = env.machines[0].shared_folders
    assert folders is not None and folders[0].name == name


def test_provision_steps(load: Load, profile_dir: Path) -> None:
    env = load("""
        version: 1
        name: t
        machines:
          a:
            provision:
              - shell: apt-get update
                run: always
                privileged: true
                env: {DEBIAN_FRONTEND: noninteractive, RETRIES: 3}
              - file: {source: src, destination: /opt/src}
              - shell: {script: setup.sh}
                name: setup
    """)
    s1, s2, s3 = env.machines[0].provision
    assert s1 == model.ProvisionStep(kind="shell", name="shell-1", inline="apt-get update", run="always",
                                     privileged=True, env=(("DEBIAN_FRONTEND", "noninteractive"),
                                                           ("RETRIES", "3")))
    assert s2 == model.ProvisionStep(kind="file", name="file-2", source=str(profile_dir / "src"),
                                     destination="/opt/src")
    assert (s3.name, s3.script, s3.inline) == ("setup", str(profile_dir / "setup.sh"), None)


def test_vm_name_baseline_dvd_and_empty_machine(load: Load) -> None:
    env = load("version: 1\nname: t\nmachines:\n  a:\n    vm_name: my.box\n    baseline: true\n  b:\n")
    a, b = env.machines
    assert (a.vm_name, a.baseline, b.vm_name, b.baseline) == ("my.box", True, "t-b", False)


def test_keys_are_names_even_when_they_look_like_numbers(load: Load) -> None:
    env = load("version: 1\nname: t\nmachines:\n  8080: {}\n  yes: {}\n")
    assert [m.name for m in env.machines] == ["8080", "yes"]


def test_workshop_profile_shape() -> None:
    env = load_profile(REPO / "profiles" / "workshop.yaml", {})
    assert [m.name for m in env.machines] == ["web", "api", "db"]
    forwards = [f for m in env.machines for n in m.nics or () for f in n.forwards]
    assert any(f.host is None for f in forwards) and any(f.host for f in forwards)
    assert all(any(n.kind == "internal" and n.network == "workshop-lab" for n in m.nics or ())
               for m in env.machines)
    web = env.machine("web")
    assert web is not None and web.shared_folders is not None
    assert Path(web.shared_folders[0].host, "README").is_file()
