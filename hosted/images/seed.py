"""A cloud-init NoCloud seed: an ISO labelled ``cidata`` with ``meta-data`` and ``user-data``.

The user-data logs the profile's SSH user in with the environment's own key
and sets the hostname; the machine's ``cloud_init:`` is merged in (a
#cloud-config mapping key by key, lists appended; any other user-data type
becomes a second part of a MIME multi-part document, as cloud-init reads it).
A machine with addresses also gets a ``network-config`` (NICs found by MAC), and
the other machines' names go into /etc/hosts by a per-boot script.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from hosted import files, paths
from hosted.errors import ImageError
from hosted.model import Environment, MachineSpec
from hosted.networks import mac_colons

VOLUME_LABEL = "cidata"
SEED_NAME = "cidata.iso"
_PART_TYPES = {  # user-data header -> MIME subtype (cloud-init's own table)
    "#!": "x-shellscript", "#include": "x-include-url", "#cloud-boothook": "cloud-boothook",
    "#part-handler": "part-handler", "#cloud-config-archive": "cloud-config-archive",
    "#template:": "jinja2",
}


def needs_seed(env: Environment, machine: MachineSpec) -> bool:
    """A machine gets a seed when its image is a cloud image or it gives ``cloud_init:`` itself."""
    image = env.image(machine.image) if machine.image else None
    return image is not None and (image.cloud_init or machine.cloud_init is not None)


def hostname(machine: MachineSpec) -> str:
    name = re.sub(r"[^A-Za-z0-9-]+", "-", machine.name).strip("-")[:63]
    return name or "hosted"


# yaml and email are imported where used: ``hosted.apply`` imports this module, and most
# machines need no seed.


def meta_data(env: Environment, machine: MachineSpec) -> str:
    import yaml

    # A stable instance-id: a new one would make cloud-init redo first boot (new host keys).
    return yaml.safe_dump({"instance-id": f"hosted-{env.name}-{machine.name}",
                           "local-hostname": hostname(machine)}, sort_keys=False)


def base_config(machine: MachineSpec, public_key: str) -> dict[str, Any]:
    user = machine.ssh.user
    config: dict[str, Any] = {"hostname": hostname(machine), "preserve_hostname": False}
    if user == "root":
        config.update({"disable_root": False, "ssh_authorized_keys": [public_key]})
    else:
        config["users"] = ["default", {
            "name": user, "shell": "/bin/bash", "sudo": "ALL=(ALL) NOPASSWD:ALL", "lock_passwd": True,
            "ssh_authorized_keys": [public_key],
        }]
    return config


def user_data(machine: MachineSpec, public_key: str) -> str:
    """The ``user-data`` document: hosted's cloud-config merged with the machine's ``cloud_init``."""
    import yaml

    ours = base_config(machine, public_key)
    theirs = machine.cloud_init
    if theirs is None or theirs.lstrip().startswith("#cloud-config"):
        extra = yaml.safe_load(theirs) if theirs else None
        merged = merge(ours, extra if isinstance(extra, dict) else {})
        return "#cloud-config\n" + yaml.safe_dump(merged, sort_keys=False)
    return _multipart("#cloud-config\n" + yaml.safe_dump(ours, sort_keys=False), theirs)


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``: mappings merge, lists are appended, other values replace."""
    out = dict(base)
    for key, value in extra.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = merge(old, value)
        elif isinstance(old, list) and isinstance(value, list):
            out[key] = old + [v for v in value if v not in old]
        else:
            out[key] = value
    return out


def _multipart(config: str, theirs: str) -> str:
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    message = MIMEMultipart()
    message.attach(MIMEText(config, "cloud-config"))
    first = theirs.lstrip()
    subtype = next((t for h, t in _PART_TYPES.items() if first.startswith(h)), None)
    if subtype is not None:
        message.attach(MIMEText(theirs, subtype))
    else:  # already MIME: its parts go beside ours
        from email import message_from_string

        given = message_from_string(first)
        for part in given.walk() if given.is_multipart() else [given]:
            if not part.is_multipart():
                message.attach(part)
    return message.as_string()


def build_iso(files: dict[str, bytes]) -> bytes:
    """An ISO 9660 image (Joliet and Rock Ridge names) labelled ``cidata`` holding ``files``."""
    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, joliet=3, rock_ridge="1.09", vol_ident=VOLUME_LABEL)
    for name, data in files.items():
        short = re.sub(r"[^A-Z0-9_]", "_", name.upper())[:8]
        iso.add_fp(io.BytesIO(data), len(data), f"/{short}.;1", rr_name=name, joliet_path=f"/{name}")
    out = io.BytesIO()
    iso.write_fp(out)
    iso.close()
    return out.getvalue()


def network_config(machine: MachineSpec) -> str | None:
    """cloud-init's network-config (version 2) for a machine with addresses: each NIC found by its
    MAC, a declared address set, the others by DHCP; None when no NIC has an address."""
    import yaml

    nics = machine.nics or ()
    if not any(n.ip and n.mac for n in nics):
        return None
    ethernets: dict[str, Any] = {}
    for slot, nic in enumerate(nics):
        if not nic.mac:
            continue
        entry: dict[str, Any] = {"match": {"macaddress": mac_colons(nic.mac)}}
        if nic.ip and nic.ip != "auto":
            entry["addresses"] = [nic.ip]
        else:
            entry["dhcp4"] = True
        if slot:
            entry["optional"] = True  # the boot does not wait for it
        ethernets[f"hosted{slot}"] = entry
    return yaml.safe_dump({"version": 2, "ethernets": ethernets}, sort_keys=False)


def with_hosts(user_data_text: str, environment: str, hosts: tuple[tuple[str, str], ...]) -> str:
    """The other machines' names, kept in /etc/hosts by a script cloud-init runs at every boot
    (after its own update_etc_hosts, which may rewrite the file)."""
    if not hosts or not user_data_text.startswith("#cloud-config"):
        return user_data_text
    import yaml

    from hosted.guestnet import hosts_script

    config = yaml.safe_load(user_data_text) or {}
    config = merge(config, {"write_files": [{
        "path": "/var/lib/cloud/scripts/per-boot/60-hosted-hosts", "permissions": "0755",
        "content": "#!/bin/sh\n" + hosts_script(environment, hosts)}]})
    return "#cloud-config\n" + yaml.safe_dump(config, sort_keys=False)


def write_seed(env: Environment, machine: MachineSpec, destination: Path | None = None,
               hosts: tuple[tuple[str, str], ...] = ()) -> Path:
    """Build the machine's seed ISO (default: in its data directory); its path.  ``hosts``:
    (address, name) of the other machines, for its /etc/hosts."""
    from hosted.ssh.keys import client_key, public_key_line

    key = public_key_line(client_key(env.name, machine.ssh))
    files = {"meta-data": meta_data(env, machine).encode(),
             "user-data": with_hosts(user_data(machine, key), env.name, hosts).encode()}
    network = network_config(machine)
    if network is not None:
        files["network-config"] = network.encode()
    target = destination or paths.machine_dir(env.name, machine.name) / SEED_NAME
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_private(target, build_iso(files))
    except OSError as exc:
        raise ImageError(f"cannot write the cloud-init seed for {machine.name}: {exc}",
                         f"Check that {target.parent} is writable.") from None
    return target


def _write_private(target: Path, data: bytes) -> None:
    """``data`` into ``target``, readable by this user only (the user-data may hold secrets),
    through a temporary file of a random name: never through a planted symlink."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)  # 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        files.replace(name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
