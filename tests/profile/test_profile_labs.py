"""Profile keys that real labs need: hostname, count and ${index}, ip_from, enabled, include,
provision_mode, shell args, reboot, ssh forwarding, groups, disks, virtualbox settings, boxes by
name, ansible runs; every rejection names its file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from profile_types import Load, Reject

from hosted.errors import ProfileError
from hosted.model import BoxRef, Disk, VirtualBoxSettings
from hosted.profile import load_profile

NAT = "nics: [{nat: {forwards: [{name: ssh, guest: 22}]}}]"


def test_count_makes_numbered_machines_with_index_and_derived_addresses(load: Load) -> None:
    env = load("""
        version: 1
        name: k8s
        machines:
          cp:
            hostname: cp.lab
          worker:
            count: 3
            hostname: worker-${index}
            memory: ${index}G
            nics:
              - nat: {forwards: [{name: ssh, guest: 22}, {guest: 80, host: "${8080+index}"}]}
              - internal: {network: lab, ip: "10.0.0.${10+index}/24"}
              - internal: {network: lab2, ip_from: 10.1.0.21}
        """)
    assert [m.name for m in env.machines] == ["cp", "worker-1", "worker-2", "worker-3"]
    workers = env.machines[1:]
    assert [m.vm_name for m in workers] == ["k8s-worker-1", "k8s-worker-2", "k8s-worker-3"]
    assert [m.hostname for m in workers] == ["worker-1", "worker-2", "worker-3"]
    assert [m.memory_mb for m in workers] == [1024, 2048, 3072]
    assert [m.nics[0].forwards[1].host for m in workers if m.nics] == [8081, 8082, 8083]
    assert [m.nics[1].ip for m in workers if m.nics] == ["10.0.0.11/24", "10.0.0.12/24", "10.0.0.13/24"]
    assert [m.nics[2].ip for m in workers if m.nics] == ["10.1.0.21/24", "10.1.0.22/24", "10.1.0.23/24"]


def test_ip_from_without_count_is_the_address_itself(load: Load) -> None:
    env = load("""
        version: 1
        name: t
        machines:
          a: {nics: [{internal: {network: n, ip_from: 10.5.0.7/16}}]}
        """)
    assert env.machines[0].nics is not None and env.machines[0].nics[0].ip == "10.5.0.7/16"


@pytest.mark.parametrize(("environ", "names"), [({}, ["web"]), ({"WITH_DB": "true"}, ["web", "db"]),
                                                ({"WITH_DB": "no"}, ["web"])])
def test_enabled_leaves_a_machine_out(load: Load, environ: dict[str, str], names: list[str]) -> None:
    env = load("""
        version: 1
        name: t
        machines:
          web:
          db:
            enabled: ${WITH_DB:-false}
        """, environ)
    assert [m.name for m in env.machines] == names


@pytest.mark.parametrize(("text", "line", "key", "message"), [
    ("machines:\n  a: {hostname: 'h${index}'}\n", 4, "machines.a.hostname", "only in a machine with"),
    ("defaults: {hostname: 'h${index}'}\nmachines: {a: {count: 2}}\n", 3, "defaults.hostname", "${index}"),
    ("machines:\n  a: {count: 0}\n", 4, "machines.a.count", "too small"),
    ("machines:\n  a: {count: 65}\n", 4, "machines.a.count", "too large"),
    ("machines:\n  a: {count: lots}\n", 4, "machines.a.count", "expected a whole number"),
    ("machines:\n  a: {count: 2}\n  a-2: {}\n", 4, "machines.a.count", "also names"),
    ("machines:\n  a: {enabled: maybe}\n", 4, "machines.a.enabled", "expected true or false"),
    ("machines:\n  a: {nics: [{internal: {network: n, ip: 10.0.0.1, ip_from: 10.0.0.2}}]}\n", 4,
     "machines.a.nics[0].internal.ip_from", "not both"),
    ("machines:\n  a:\n    count: 2\n    nics: [{internal: {network: n, ip: 10.0.0.1, ip_from: 10.0.0.2}}]\n",
     6, "machines.a-1.nics[0].internal.ip_from", "not both"),
])
def test_count_and_enabled_rejections(reject: Reject, text: str, line: int, key: str, message: str) -> None:
    err = reject("version: 1\nname: t\n" + text)
    assert (err.line, err.key) == (line, key), str(err)
    assert message in err.message or message in str(err), str(err)


def test_include_merges_mappings_and_the_profile_wins(load: Load, profile_dir: Path) -> None:
    (profile_dir / "shared").mkdir()
    (profile_dir / "shared" / "common.yaml").write_text(
        "include: base.yaml\ndefaults:\n  memory: 512\n  cpus: 2\nmachines:\n  db: {memory: 1G}\n")
    (profile_dir / "shared" / "base.yaml").write_text("defaults: {os_type: Debian_64}\n")
    env = load("""
        version: 1
        name: t
        include: shared/common.yaml
        defaults: {cpus: 4}
        machines:
          web:
          db: {cpus: 1}
        """)
    web, db = env.machines
    assert (web.os_type, web.cpus, web.memory_mb) == ("Debian_64", 4, 512)
    assert (db.cpus, db.memory_mb) == (1, 1024)
    shared = profile_dir / "shared"
    assert env.includes == (str(shared / "common.yaml"), str(shared / "base.yaml"))


def test_an_error_in_an_included_file_names_that_file_and_line(write: Path, profile_dir: Path) -> None:
    (profile_dir / "common.yaml").write_text("defaults:\n  cpus: 2\n  memroy: 1G\n")
    path = write("version: 1\nname: t\ninclude: [common.yaml]\nmachines: {a: }\n")  # type: ignore[operator]
    with pytest.raises(ProfileError) as info:
        load_profile(path, {})
    err = info.value
    assert (err.file, err.line, err.key) == (str(profile_dir / "common.yaml"), 3, "defaults.memroy")


@pytest.mark.parametrize(("files", "include", "where", "message"), [
    ({}, "nowhere.yaml", "hosted.yaml:3", "does not exist"),
    ({"a.yaml": "include: hosted.yaml\n"}, "a.yaml", "a.yaml:1", "includes itself"),
    ({"a.yaml": "defaults: [\n"}, "a.yaml", "a.yaml:2", "not valid YAML"),
    ({"a.yaml": "defaults: {cpus: '${NOPE}'}\n"}, "a.yaml", "a.yaml:1", "NOPE is not set"),
])
def test_include_rejections(write: Path, profile_dir: Path, files: dict[str, str], include: str, where: str,
                            message: str) -> None:
    for name, text in files.items():
        (profile_dir / name).write_text(text)
    path = write(f"version: 1\nname: t\ninclude: {include}\nmachines: {{a: }}\n")  # type: ignore[operator]
    with pytest.raises(ProfileError) as info:
        load_profile(path, {})
    err = info.value
    assert f"{Path(err.file or '').name}:{err.line}" == where and message in err.message, str(err)


def test_provision_mode_append_runs_the_defaults_steps_first(load: Load) -> None:
    env = load("""
        version: 1
        name: t
        defaults:
          provision: [{shell: apt-get update, name: update}]
        machines:
          a:
            provision_mode: append
            provision: [{shell: {inline: 'echo "$1" "$2"', args: [one two, "it's"]}, reboot: true}]
          b:
            provision: [{shell: echo b}]
          c:
        """)
    a, b, c = env.machines
    assert [s.name for s in a.provision] == ["update", "shell-2"]
    assert a.provision[1].args == ("one two", "it's") and a.provision[1].reboot
    assert [s.name for s in b.provision] == ["shell-1"]
    assert [s.name for s in c.provision] == ["update"]


def test_append_with_a_name_taken_twice(reject: Reject) -> None:
    err = reject("""version: 1
name: t
defaults:
  provision: [{shell: x, name: s}]
machines:
  a:
    provision_mode: append
    provision: [{shell: y, name: s}]
""")
    assert (err.line, err.key) == (8, "machines.a.provision[0].name")
    assert "defaults.provision[0]" in err.message


def test_lab_keys_become_the_model(load: Load, profile_dir: Path) -> None:
    (profile_dir / "site.yml").write_text("- hosts: all\n")
    env = load("""
        version: 1
        name: t
        defaults:
          virtualbox: {audio: false, groups: [/lab]}
        machines:
          a:
            groups: [workers]
            ssh: {forward_agent: true, forward_x11: true}
            disks:
              - {name: data, size: 2G, port: 3, type: fixed, nonrotational: true}
              - {name: quorum, size: 64M, shareable: true}
            virtualbox:
              vram: 32
              graphics: vmsvga
              nested_virtualization: true
              clipboard: bidirectional
              gui: true
              extradata: {GUI/ScaleFactor: 2, VBoxInternal/Foo: bar}
        ansible:
          - playbook: site.yml
            limit: [workers]
            extra_vars: {k8s_version: 1.29}
        """)
    a = env.machines[0]
    assert a.groups == ("workers",) and a.ssh.forward_agent and a.ssh.forward_x11 and a.gui
    assert a.disks == (Disk("data", 2048, 3, fixed=True, nonrotational=True),
                       Disk("quorum", 64, None, fixed=True, shareable=True))
    assert a.virtualbox == VirtualBoxSettings(
        groups=("/lab",), vram_mb=32, graphics="vmsvga", audio=False, clipboard="bidirectional",
        nested_virtualization=True, extradata=(("GUI/ScaleFactor", "2"), ("VBoxInternal/Foo", "bar")))
    run = env.ansible[0]
    assert (run.name, run.limit, run.extra_vars) == ("site", ("workers",), (("k8s_version", "1.29"),))


@pytest.mark.parametrize(("text", "line", "key", "message"), [
    ("machines:\n  a: {disks: [{name: d, size: 1G}, {name: d, size: 2G}]}\n", 4, "machines.a.disks[1].name",
     "two disks are named 'd'"),
    ("machines:\n  a: {disks: [{name: q, size: 1G, shareable: true}]}\n"
     "  b: {disks: [{name: q, size: 2G, shareable: true}]}\n", 5, "machines.b.disks[0]", "differs"),
    ("machines:\n  a: {disks: [{name: d, size: 1G, port: 30}]}\n", 4, "machines.a.disks[0].port",
     "too large"),
    ("machines:\n  a: {virtualbox: {extradata: {hosted/machine: x}}}\n", 4,
     "machines.a.virtualbox.extradata.hosted/machine", "hosted's own"),
    ("machines:\n  a: {virtualbox: {graphics: svga}}\n", 4, "machines.a.virtualbox.graphics", "not allowed"),
    ("machines:\n  a: {virtualbox: {groups: [lab]}}\n", 4, "machines.a.virtualbox.groups[0]", "group"),
    ("machines:\n  a: {groups: [a]}\n", 4, "machines.a.groups", "has the name of a machine"),
    ("machines:\n  a: {hostname: -bad}\n", 4, "machines.a.hostname", "host name"),
    ("machines: {a: }\nansible: [{playbook: setup.sh, limit: [b]}]\n", 4, "ansible[0].limit[0]",
     "no machine or group 'b'"),
    ("images: {u: {box: bento/x, source: ./setup.sh}}\nmachines: {a: {image: u}}\n", 3, "images.u",
     "exactly one of source, box, box_url"),
    ("images: {u: {source: ./setup.sh, version: '1'}}\nmachines: {a: {image: u}}\n", 3, "images.u",
     "`version` and `catalog` go with `box`"),
    ("images: {u: {box: 'not a box'}}\nmachines: {a: {image: u}}\n", 3, "images.u.box", "box name"),
    ("machines:\n  a: {provision: [{shell: {args: [x]}}]}\n", 4, "machines.a.provision[0].shell",
     "exactly one of inline, script"),
])
def test_lab_rejections(reject: Reject, text: str, line: int, key: str, message: str) -> None:
    err = reject("version: 1\nname: t\n" + text)
    assert (err.line, err.key) == (line, key), str(err)
    assert message in err.message, str(err)


def test_boxes_by_name_under_images_and_given_in_place(load: Load) -> None:
    env = load("""
        version: 1
        name: t
        images:
          jammy: {box: bento/ubuntu-22.04, version: "202401.31.0", catalog: "http://mirror.lab/boxes"}
          byurl: {box_url: "http://mirror.lab/debian.json"}
        machines:
          a: {image: jammy}
          b: {image: byurl}
          c: {image: {box: bento/debian-12}}
          d: {image: {box: bento/debian-12}}
        """)
    jammy, byurl, inline = env.images
    assert jammy.box == BoxRef("bento/ubuntu-22.04", "202401.31.0", None, "http://mirror.lab/boxes")
    assert byurl.box == BoxRef("", None, "http://mirror.lab/debian.json") and byurl.source == ""
    assert inline.box == BoxRef("bento/debian-12") and inline.name.startswith("bento-debian-12-")
    assert env.machines[2].image == env.machines[3].image == inline.name
