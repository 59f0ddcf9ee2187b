"""Validated profile -> ``hosted.model.Environment``: defaults, derived names, units.

``defaults`` are merged under each machine key by key: a machine's own value
wins, lists replace (never merge), and the ``ssh`` / ``ready`` mappings merge
key by key.  Every value remembers whether it came from the machine or from
``defaults`` so that later checks can point at the line that set it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import yaml

from hosted import model
from hosted.profile import schema
from hosted.profile.source import KeyPath
from hosted.profile.types import CHECKSUM_FILE_PREFIX


@dataclass(frozen=True)
class Merged:
    """One machine's keys with ``defaults`` under them."""

    name: str
    own: schema.Machine
    defaults: schema.Machine | None

    def get(self, key: str) -> Any:
        value = getattr(self.own, key)
        if value is None and self.defaults is not None:
            value = getattr(self.defaults, key)
        if key == "image" and isinstance(value, schema.Image):
            return inline_image_name(value)  # an image given in place: named after what it is
        return value

    def inline_image(self) -> schema.Image | None:
        value = self.own.image if self.own.image is not None else \
            self.defaults.image if self.defaults is not None else None
        return value if isinstance(value, schema.Image) else None

    def steps(self) -> list[tuple[KeyPath, schema.ProvisionEntry]]:
        """The provisioning steps with where each was set: the machine's own (``provision_mode:
        append``: after those of ``defaults``), else those of ``defaults``."""
        own: list[tuple[KeyPath, schema.ProvisionEntry]] = [
            (("machines", self.name, "provision", i), s) for i, s in enumerate(self.own.provision or ())]
        default: list[tuple[KeyPath, schema.ProvisionEntry]] = [(("defaults", "provision", i), s) for i, s in
                   enumerate((self.defaults.provision if self.defaults is not None else None) or ())]
        if self.own.provision is None:
            return default
        return [*default, *own] if self.get("provision_mode") == "append" else own

    def origin(self, key: str) -> KeyPath:
        """Where ``key`` was set: the machine itself, or ``defaults``."""
        if getattr(self.own, key) is None and self.defaults is not None and \
                getattr(self.defaults, key) is not None:
            return ("defaults", key)
        return ("machines", self.name, key)

    def sub(self, key: str, field: str) -> Any:
        """A key of the ``ssh``, ``ready`` or ``install`` mapping, merged key by key."""
        for source in (self.own, self.defaults):
            block = getattr(source, key) if source is not None else None
            if block is not None and getattr(block, field) is not None:
                return getattr(block, field)
        return None


# Readiness for a machine that installs its OS on first start (undeclared `ready.ssh`):
# an unattended install takes minutes with hardware virtualisation, far longer without.
INSTALL_SSH_TIMEOUT = 3600.0


def is_installer(image: schema.Image | None) -> bool:
    """An installer ISO: declared ``kind: iso``, or an ``.iso`` source left to detection."""
    if image is None:
        return False
    return image.kind == "iso" or (image.kind == "auto" and str(image.source).lower().endswith(".iso"))


def machine_spec(env_name: str, merged: Merged, images: dict[str, schema.Image] | None = None,
                 several: bool = False) -> model.MachineSpec:
    """``several``: the profile has more than one machine (``hosts`` is then on by default)."""
    get = merged.get
    install = _install(merged) if is_installer((images or {}).get(get("image") or "")) else None
    nics = get("nics")
    folders = get("shared_folders")
    return model.MachineSpec(
        name=merged.name,
        vm_name=get("vm_name") or f"{env_name}-{merged.name}",
        state=get("state") or "running",
        os_type=get("os_type"),
        cpus=get("cpus"),
        memory_mb=get("memory"),
        disk_mb=get("disk"),
        firmware=get("firmware"),
        nics=None if nics is None else tuple(nic(entry) for entry in nics),
        shared_folders=None if folders is None else tuple(shared_folder(f) for f in folders),
        dvd=get("dvd"),
        ssh=_ssh(merged, install),
        ready=_ready(merged, install),
        provision=tuple(provision_step(i, step) for i, (_, step) in enumerate(merged.steps())),
        baseline=bool(get("baseline")),
        image=get("image"),
        linked=get("linked") is not False,
        cloud_init=user_data(get("cloud_init")),
        install=install,
        hosts=several if get("hosts") is None else bool(get("hosts")),
        primary=bool(getattr(merged.own, "primary", None)),
        hostname=get("hostname"),
        groups=tuple(get("groups") or ()),
        disks=None if get("disks") is None else tuple(disk(d) for d in get("disks")),
        virtualbox=virtualbox(merged),
        gui=bool(merged.sub("virtualbox", "gui")),
    )


def inline_image_name(image: schema.Image) -> str:
    """The name of an image a machine gives in place (``image: {box: ...}``): what it is, and a
    digest of all of it, so equal images share a name (and a template) and others never do."""
    what = image.box or (image.box_url or image.source or "image").rstrip("/").rsplit("/", 1)[-1]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", what).strip("-._")[:40] or "image"
    digest = hashlib.sha256(image.model_dump_json().encode()).hexdigest()[:8]
    return f"{stem}-{image.version}-{digest}" if image.version else f"{stem}-{digest}"


def all_images(images: dict[str, schema.Image], machines: list[Merged]) -> dict[str, schema.Image]:
    """The images under ``images:`` and those the machines give in place."""
    found = dict(images)
    for merged in machines:
        inline = merged.inline_image()
        if inline is not None:
            found.setdefault(inline_image_name(inline), inline)
    return found


def disk(entry: schema.DiskEntry) -> model.Disk:
    return model.Disk(name=entry.name, size_mb=entry.size, port=entry.port,
                      fixed=entry.type == "fixed" or entry.shareable, nonrotational=entry.nonrotational,
                      shareable=entry.shareable)


def virtualbox(merged: Merged) -> model.VirtualBoxSettings:
    def sub(key: str) -> Any:
        return merged.sub("virtualbox", key)

    groups, extra = sub("groups"), sub("extradata")
    return model.VirtualBoxSettings(
        groups=None if groups is None else tuple(groups), vram_mb=sub("vram"), graphics=sub("graphics"),
        audio=sub("audio"), clipboard=sub("clipboard"), drag_and_drop=sub("drag_and_drop"),
        nested_virtualization=sub("nested_virtualization"), ioapic=sub("ioapic"), paravirt=sub("paravirt"),
        usb=sub("usb"), nic_promiscuous=sub("nic_promiscuous"),
        nat_dns_host_resolver=sub("nat_dns_host_resolver"),
        extradata=None if extra is None else tuple(sorted((str(k), str(v)) for k, v in extra.items())),
    )


def ansible_run(index: int, entry: schema.Ansible) -> model.AnsibleRun:
    return model.AnsibleRun(
        name=ansible_name(entry), playbook=entry.playbook, limit=tuple(entry.limit or ()),
        extra_vars=tuple((k, str(v)) for k, v in entry.extra_vars.items()), run=entry.run,
        options=tuple(entry.options))


def ansible_name(entry: schema.Ansible) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", PurePath(entry.playbook).stem).lstrip("._-")
    return entry.name or stem or "ansible"


def image_spec(name: str, image: schema.Image) -> model.ImageSpec:
    sha256: str | None = image.sha256
    sha256_file = None
    if sha256 is not None and sha256.startswith(CHECKSUM_FILE_PREFIX):  # read when fetched
        sha256_file, sha256 = sha256.removeprefix(CHECKSUM_FILE_PREFIX), None
    box = None
    if image.box is not None or image.box_url is not None:
        box = model.BoxRef(name=image.box or "", version=image.version, metadata_url=image.box_url,
                           catalog=image.catalog)
    return model.ImageSpec(name=name, source=str(image.source or ""), sha256=sha256, sha256_file=sha256_file,
                           kind=image.kind, arch=image.arch, cloud_init=image.cloud_init, box=box)


def user_data(value: dict[str, Any] | str | None) -> str | None:
    """``cloud_init:`` as user-data text: a mapping becomes a #cloud-config document."""
    if value is None or isinstance(value, str):
        return None if value is None else str(value)
    return "#cloud-config\n" + yaml.safe_dump(_plain(value), sort_keys=False, default_flow_style=False)


def _plain(value: Any) -> Any:
    # Substituted strings (a str subclass) are not representable by yaml.safe_dump.
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return str(value) if isinstance(value, str) else value


def nic_kind(entry: schema.NicEntry) -> model.NicKind:
    kind: model.NicKind
    for kind in ("nat", "internal", "hostonly", "bridged", "natnetwork", "link"):
        if getattr(entry, kind) is not None:
            return kind
    raise AssertionError("validated NIC entries have exactly one kind")


def nic(entry: schema.NicEntry) -> model.Nic:
    kind = nic_kind(entry)
    body = getattr(entry, kind)
    if isinstance(body, schema.Nat):
        return model.Nic(kind, forwards=tuple(forward(f) for f in body.forwards), adapter_type=body.adapter)
    if isinstance(body, schema.Internal):
        return model.Nic(kind, network=body.network, adapter_type=body.adapter, ip=body.ip,
                         static=body.static)
    if isinstance(body, schema.NatNetwork):
        return model.Nic(kind, network=body.network, cidr=body.cidr, adapter_type=body.adapter, ip=body.ip,
                         static=body.static, forwards=tuple(forward(f) for f in body.forwards))
    if isinstance(body, schema.Link):
        return model.Nic(kind, peer=body.peer, adapter_type=body.adapter, ip=body.ip)
    if isinstance(body, schema.HostOnly):
        return model.Nic(kind, interface=body.interface, adapter_type=body.adapter, ip=body.ip,
                         static=body.static)
    return model.Nic(kind, interface=body.interface, adapter_type=body.adapter)


def forward_name(fwd: schema.Forward) -> str:
    return fwd.name or f"{fwd.protocol}{fwd.guest}"


def forward(fwd: schema.Forward) -> model.Forward:
    return model.Forward(
        name=forward_name(fwd), guest=fwd.guest, host=fwd.host, host_ip=fwd.host_ip,
        protocol=fwd.protocol, guest_ip=fwd.guest_ip,
    )


def share_name(folder: schema.SharedFolder) -> str:
    """The given name, else one derived from the guest path (``/srv/src`` -> ``srv_src``)."""
    if folder.name:
        return folder.name
    source = folder.guest.strip("/\\") or PurePath(folder.host).name
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", source).lstrip("._-")
    return name or "share"


def shared_folder(folder: schema.SharedFolder) -> model.SharedFolder:
    return model.SharedFolder(name=share_name(folder), host=folder.host, guest=folder.guest,
                              readonly=folder.readonly)


def step_name(index: int, step: schema.ProvisionEntry) -> str:
    return step.name or f"{'shell' if step.shell is not None else 'file'}-{index + 1}"


def provision_step(index: int, step: schema.ProvisionEntry) -> model.ProvisionStep:
    common: dict[str, Any] = {
        "name": step_name(index, step), "run": step.run, "privileged": step.privileged,
        "env": tuple((k, str(v)) for k, v in step.env.items()), "reboot": step.reboot,
    }
    if step.shell is not None:
        return model.ProvisionStep(kind="shell", inline=step.shell.inline, script=step.shell.script,
                                   args=tuple(str(a) for a in step.shell.args), **common)
    assert step.file is not None
    return model.ProvisionStep(kind="file", source=step.file.source,
                               destination=step.file.destination, **common)


def _ssh(merged: Merged, install: model.InstallSpec | None) -> model.SshSpec:
    given = {k: merged.sub("ssh", k) for k in ("user", "port", "private_key", "forward_agent", "forward_x11")}
    if install is not None and given["user"] is None:
        given["user"] = install.user  # the user the installer creates logs in
    return model.SshSpec(**{k: v for k, v in given.items() if v is not None})


def _ready(merged: Merged, install: model.InstallSpec | None) -> model.ReadySpec:
    keys = ("vm_running", "guest_network", "tcp", "ssh", "command", "command_timeout")
    given = {k: merged.sub("ready", k) for k in keys}
    if install is not None and given["ssh"] is None:
        given["ssh"] = INSTALL_SSH_TIMEOUT
    return model.ReadySpec(**{k: v for k, v in given.items() if v is not None})


def _install(merged: Merged) -> model.InstallSpec:
    keys = ("user", "password", "full_name", "hostname", "guest_additions", "locale", "time_zone")
    given = {k: merged.sub("install", k) for k in keys}
    return model.InstallSpec(**{k: v for k, v in given.items() if v is not None})
