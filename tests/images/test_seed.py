"""The NoCloud seed: user-data merging, and the ISO read back with pycdlib."""

from __future__ import annotations

import email
import io
from pathlib import Path

import pycdlib
import yaml

from hosted.images.seed import needs_seed, user_data, write_seed
from hosted.model import Environment, ImageSpec, MachineSpec, SshSpec
from hosted.ssh import ensure_keypair, public_key_line

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITEST test"


def machine(name: str = "web", user: str = "root", cloud_init: str | None = None,
            image: str | None = "deb") -> MachineSpec:
    return MachineSpec(name=name, vm_name=f"t-{name}", ssh=SshSpec(user=user), image=image,
                       cloud_init=cloud_init)


def env(*machines: MachineSpec, cloud: bool = True) -> Environment:
    return Environment(name="lab", path="/x/hosted.yaml", machines=machines,
                       images=(ImageSpec("deb", "/x/deb.ova", cloud_init=cloud),))


def config(text: str) -> dict[str, object]:
    assert text.startswith("#cloud-config\n")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def test_root_logs_in_with_the_environment_key() -> None:
    data = config(user_data(machine(), KEY))
    assert data == {"hostname": "web", "preserve_hostname": False, "disable_root": False,
                    "ssh_authorized_keys": [KEY]}


def test_another_user_is_created_with_sudo_and_the_key() -> None:
    data = config(user_data(machine(name="db_1", user="admin"), KEY))
    assert data["hostname"] == "db-1", "'_' is not allowed in a host name"
    users = data["users"]
    assert isinstance(users, list) and users[0] == "default"
    assert users[1]["name"] == "admin" and users[1]["ssh_authorized_keys"] == [KEY]
    assert users[1]["sudo"] == "ALL=(ALL) NOPASSWD:ALL"


def test_the_profiles_cloud_config_is_merged() -> None:
    theirs = "#cloud-config\npackages: [git]\nssh_authorized_keys: [ssh-rsa OTHER]\nhostname: custom\n"
    data = config(user_data(machine(cloud_init=theirs), KEY))
    assert data["packages"] == ["git"]
    assert data["ssh_authorized_keys"] == [KEY, "ssh-rsa OTHER"], "lists are appended, ours first"
    assert data["hostname"] == "custom", "the profile's values win"


def test_a_script_becomes_a_second_mime_part() -> None:
    text = user_data(machine(user="admin", cloud_init="#!/bin/sh\necho hello\n"), KEY)
    message = email.message_from_string(text)
    assert message.is_multipart()
    parts = [p for p in message.walk() if not p.is_multipart()]
    assert [p.get_content_type() for p in parts] == ["text/cloud-config", "text/x-shellscript"]
    assert KEY in parts[0].get_payload(decode=True).decode()
    assert parts[1].get_payload(decode=True).decode() == "#!/bin/sh\necho hello\n"


def test_which_machines_need_a_seed() -> None:
    assert needs_seed(env(machine()), machine())
    assert not needs_seed(env(machine(), cloud=False), machine())
    assert needs_seed(env(machine(), cloud=False), machine(cloud_init="#cloud-config\n{}"))
    assert not needs_seed(env(machine(image=None)), machine(image=None))


def read_iso(path: Path) -> tuple[str, dict[str, bytes], dict[str, bytes]]:
    iso = pycdlib.PyCdlib()
    iso.open(str(path))
    try:
        label = iso.pvd.volume_identifier.decode().strip()
        rock, joliet = {}, {}
        for name in ("user-data", "meta-data"):
            for store, kw in ((rock, {"rr_path": f"/{name}"}), (joliet, {"joliet_path": f"/{name}"})):
                out = io.BytesIO()
                iso.get_file_from_iso_fp(out, **kw)
                store[name] = out.getvalue()
        return label, rock, joliet
    finally:
        iso.close()


def test_the_seed_iso_holds_meta_data_and_user_data(tmp_path: Path) -> None:
    web = machine(user="admin", cloud_init="#cloud-config\nruncmd: [[touch, /ok]]\n")
    path = write_seed(env(web), web, tmp_path / "seed.iso")
    label, rock, joliet = read_iso(path)
    assert label == "cidata"
    assert rock == joliet, "Rock Ridge and Joliet names lead to the same files"
    meta = yaml.safe_load(rock["meta-data"])
    assert meta == {"instance-id": "hosted-lab-web", "local-hostname": "web"}
    data = config(rock["user-data"].decode())
    key = public_key_line(ensure_keypair("lab"))
    assert data["users"][1]["ssh_authorized_keys"] == [key]  # type: ignore[index]
    assert data["runcmd"] == [["touch", "/ok"]]


def test_the_seed_goes_to_the_machines_data_directory_by_default(tmp_path: Path) -> None:
    web = machine()
    path = write_seed(env(web), web)
    assert path == tmp_path / "data" / "hosted" / "environments" / "lab" / "machines" / "web" / "cidata.iso"
    assert read_iso(path)[0] == "cidata"
    assert not list(path.parent.glob(".*.tmp"))
