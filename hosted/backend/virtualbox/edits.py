"""Making a locked (mutable) machine match a MachineSpec, key by key.

Every function here works on ``session.machine`` inside ``session.locked``;
none saves or locks by itself, so a whole change is one lock and one save.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from hosted.backend.virtualbox import disks, extradata, natnet, settings, storage
from hosted.backend.virtualbox.context import Ctx
from hosted.backend.virtualbox.extradata import read_media, write_media, write_tags
from hosted.backend.virtualbox.observe import (
    UDP_TUNNEL,
    adapter_type_name,
    host_ports,
    nic_device,
    read_forwards,
    read_shared_folders,
)
from hosted.errors import OperationFailed
from hosted.events import Emit
from hosted.model import Forward, MachineSpec, Nic, SharedFolder, Tags, VirtualBoxSettings

# Creation defaults for keys the profile does not declare.
DEFAULT_OS_TYPE = "Linux_64"
# What a new machine gets for an undeclared key.  Its OS type is chosen when it is created, for
# the host's CPU family (create.py): it is not set again here.
DEFAULTS: dict[str, object] = {"cpus": 1, "memory_mb": 1024, "firmware": "bios"}
KNOWN_KEYS = frozenset(MachineSpec.CONFIG_KEYS) | {"forwards", "tags"} | \
    {f"virtualbox.{k}" for k in VirtualBoxSettings.KEYS}

Allocate = Callable[[str, Collection[int]], int]


@dataclass
class Edit:
    """One change: what it may use and what it created (to roll back on failure)."""

    ctx: Ctx
    sm: Any  # the session's mutable IMachine
    emit: Emit
    allocate: Allocate
    taken: set[int] | None  # host ports forwarded by any machine; None: read when first needed
    offline: bool = True  # False: a running machine under a shared lock (runtime changes only)
    created_media: list[Any] = field(default_factory=list)
    claimed: set[int] = field(default_factory=set)  # host ports this edit forwards from

    def ports_in_use(self) -> set[int]:
        # Reading every machine's forwards costs a round trip per adapter:
        # only an automatic forward needs it.
        if self.taken is None:
            self.taken = host_ports(self.ctx)
        return self.taken | self.claimed


def _declared(spec: MachineSpec, key: str, creating: bool) -> Any:
    value = getattr(spec, key)
    return DEFAULTS.get(key) if value is None and creating else value


def set_hardware(edit: Edit, spec: MachineSpec, keys: Collection[str], creating: bool) -> None:
    sm, c = edit.sm, edit.ctx.const
    values = {k: _declared(spec, k, creating) for k in ("os_type", "cpus", "memory_mb", "firmware")}
    if "os_type" in keys and values["os_type"] is not None:
        sm.OSTypeId = values["os_type"]
    if "cpus" in keys and values["cpus"] is not None:
        sm.CPUCount = values["cpus"]
    if "memory_mb" in keys and values["memory_mb"] is not None:
        sm.memorySize = values["memory_mb"]
    if "firmware" in keys and values["firmware"] is not None:
        kind = c.FirmwareType_BIOS if values["firmware"] == "bios" else c.FirmwareType_EFI
        edit.ctx.api.set_firmware_type(sm, kind)


def adapter_type_value(ctx: Ctx, name: str) -> int:
    for const_name, value in ctx.const.all_values("NetworkAdapterType").items():
        if value and name.lower() in (const_name.lower(), adapter_type_name(ctx, value).lower()):
            return int(value)
    raise OperationFailed(f"unknown network adapter type {name!r}",
                          "use one of 82540EM, 82543GC, 82545EM, Am79C970A, Am79C973, virtio")


def sync_forwards(edit: Edit, adapter: Any, desired: Sequence[Forward]) -> None:
    """Make the adapter's NAT forwards ``desired``; forwards that already match keep their host port."""
    engine = adapter.NATEngine
    existing = {f.name: f for f in read_forwards(edit.ctx, adapter)}
    wanted = {f.name: f for f in desired}
    for name, have in existing.items():
        if name not in wanted or not wanted[name].matches(have):
            engine.removeRedirect(name)
    for want in desired:
        kept = existing.get(want.name)
        if kept is not None and want.matches(kept):
            continue
        port = want.host if want.host is not None else edit.allocate(want.host_ip, edit.ports_in_use())
        edit.claimed.add(port)
        proto = edit.ctx.const.NATProtocol_TCP if want.protocol == "tcp" else edit.ctx.const.NATProtocol_UDP
        engine.addRedirect(want.name, proto, want.host_ip, port, want.guest_ip, want.guest)


def _set_adapter(edit: Edit, adapter: Any, nic: Nic) -> None:
    c = edit.ctx.const
    kinds = {"nat": c.NetworkAttachmentType_NAT, "internal": c.NetworkAttachmentType_Internal,
             "hostonly": c.NetworkAttachmentType_HostOnly, "bridged": c.NetworkAttachmentType_Bridged,
             "natnetwork": c.NetworkAttachmentType_NATNetwork, "link": c.NetworkAttachmentType_Generic}
    adapter.enabled = True
    adapter.attachmentType = kinds[nic.kind]
    if nic.kind == "internal":
        adapter.internalNetwork = nic.network or "intnet"
    elif nic.kind == "hostonly" and nic.interface:
        adapter.hostOnlyInterface = nic.interface
    elif nic.kind == "bridged" and nic.interface:
        adapter.bridgedInterface = nic.interface
    elif nic.kind == "natnetwork" and nic.network:
        adapter.NATNetwork = nic.network
    elif nic.kind == "link":
        _set_link(adapter, nic)
    if nic.adapter_type:
        adapter.adapterType = adapter_type_value(edit.ctx, nic.adapter_type)
    if nic.mac:
        adapter.MACAddress = nic.mac
    sync_forwards(edit, adapter, nic.forwards if nic.kind == "nat" else ())
    if nic.kind == "natnetwork" and nic.network:
        sync_natnet(edit, nic)
    _set_link_up_delay(edit, adapter, nic)


def _set_link_up_delay(edit: Edit, adapter: Any, nic: Nic) -> None:
    """A NAT adapter's link comes up at once after a restore (VirtualBox waits 5 s by default);
    other kinds keep VirtualBox's default, which guests on a real network may need."""
    device = nic_device(edit.ctx, int(adapter.adapterType))
    for name in extradata.NIC_DEVICES:
        value = "0" if nic.kind == "nat" and name == device else ""
        key = extradata.link_up_delay_key(name, int(adapter.slot))
        if str(edit.sm.getExtraData(key) or "") != value:
            edit.sm.setExtraData(key, value)


def _set_link(adapter: Any, nic: Nic) -> None:
    if nic.link_port is None or nic.peer_port is None:
        raise OperationFailed(f"the link to {nic.peer} has no UDP ports yet", "run `hosted up` again")
    adapter.genericDriver = UDP_TUNNEL
    # UDPTunnel: this end listens on sport and sends to dest:dport, where the peer listens.
    adapter.setProperty("dest", "127.0.0.1")
    adapter.setProperty("sport", str(nic.link_port))
    adapter.setProperty("dport", str(nic.peer_port))


def sync_natnet(edit: Edit, nic: Nic) -> None:
    """The machine's port forwards in its NAT Network (rules named VM/RULE, to the NIC's address)."""
    if nic.forwards and nic.address is None:
        raise OperationFailed(f"forwards in NAT Network {nic.network} need the machine's address there",
                              "give the natnetwork NIC an `ip:` (or `ip: auto`)")
    natnet.sync_rules(edit.ctx, str(nic.network), str(edit.sm.name), nic.forwards, nic.address or "",
                      edit.allocate, edit.ports_in_use, edit.claimed)


def set_nics(edit: Edit, nics: Sequence[Nic], creating: bool = False) -> None:
    slots = edit.ctx.max_nics(edit.sm)
    if len(nics) > slots:
        raise OperationFailed(f"{len(nics)} network adapters asked for; this machine has {slots} slots",
                              "declare fewer nics")
    # A machine createMachine just made has at most its first adapter enabled.
    for slot in range(max(len(nics), 1) if creating else slots):
        adapter = edit.sm.getNetworkAdapter(slot)
        if not creating:
            _leave_natnet(edit, adapter, nics[slot] if slot < len(nics) else None)
        if slot < len(nics):
            _set_adapter(edit, adapter, nics[slot])
        elif adapter.enabled:
            adapter.enabled = False


def _leave_natnet(edit: Edit, adapter: Any, nic: Nic | None) -> None:
    """An adapter leaving its NAT Network takes its port forwards there with it."""
    if not adapter.enabled or \
            int(adapter.attachmentType) != int(edit.ctx.const.NetworkAttachmentType_NATNetwork):
        return
    old = str(adapter.NATNetwork or "")
    if old and (nic is None or nic.kind != "natnetwork" or nic.network != old):
        natnet.drop_machine_rules(edit.ctx, str(edit.sm.name), [old])


def set_forwards(edit: Edit, nics: Sequence[Nic]) -> None:
    """Only the NAT forwards (a runtime change): adapters themselves stay as they are."""
    c = edit.ctx.const
    for slot, nic in enumerate(nics):
        adapter = edit.sm.getNetworkAdapter(slot)
        if nic.kind == "nat" and int(adapter.attachmentType) == int(c.NetworkAttachmentType_NAT):
            sync_forwards(edit, adapter, nic.forwards)
        elif nic.kind == "natnetwork" and nic.network and \
                int(adapter.attachmentType) == int(c.NetworkAttachmentType_NATNetwork):
            sync_natnet(edit, nic)


def set_shared_folders(edit: Edit, folders: Sequence[SharedFolder]) -> None:
    current = {f.name: f for f in read_shared_folders(edit.ctx, edit.sm)}
    desired = {f.name: f for f in folders}
    for name, have in current.items():
        if desired.get(name) != have:
            edit.sm.removeSharedFolder(name)
    for name, want in desired.items():
        if current.get(name) != want:
            if not os.path.isdir(want.host):
                raise OperationFailed(f"shared folder '{name}': {want.host} is not a directory",
                                      "create the host directory, or fix the path in the profile")
            edit.sm.createSharedFolder(want.name, want.host, not want.readonly, want.automount, want.guest)


def set_serial_log(edit: Edit) -> str:
    """UART1 (0x3F8, IRQ 4) into a file, so a stalled boot can be diagnosed."""
    path = os.path.join(storage.machine_folder(edit.sm), "serial.log")
    port = edit.sm.getSerialPort(0)
    port.path = path
    port.hostMode = edit.ctx.const.PortMode_RawFile
    port.IOAddress = 0x3F8
    port.IRQ = 4
    port.enabled = True
    return path


def _set_storage(edit: Edit, spec: MachineSpec, keys: Collection[str]) -> None:
    owned = read_media(edit.sm)
    if "disk_mb" in keys and spec.disk_mb is not None:
        owned = storage.set_disk(edit.ctx, edit.sm, spec.disk_mb, owned, edit.created_media, edit.emit)
        write_media(edit.sm, owned)
    if "dvd" in keys and spec.dvd is not None:
        storage.set_dvd(edit.ctx, edit.sm, spec.dvd, edit.offline)
    declared = spec.disk_mb is not None or spec.dvd is not None
    if edit.offline and {"disk_mb", "dvd"} & set(keys) and declared:
        has_disk = storage.owned_disk(edit.ctx, edit.sm, owned) is not None
        storage.set_boot_order(edit.ctx, edit.sm, has_disk)


def apply_keys(edit: Edit, spec: MachineSpec, keys: Collection[str], tags: Tags, creating: bool) -> None:
    """Make ``keys`` of the locked machine match ``spec`` (undeclared keys are left alone)."""
    unknown = set(keys) - KNOWN_KEYS
    if unknown:
        raise OperationFailed(f"cannot configure {', '.join(sorted(unknown))}",
                              f"known keys: {', '.join(sorted(KNOWN_KEYS))}")
    set_hardware(edit, spec, keys, creating)
    _set_storage(edit, spec, keys)
    if "nics" in keys and spec.nics is not None:
        set_nics(edit, spec.nics, creating)
    elif "forwards" in keys and spec.nics is not None:
        set_forwards(edit, spec.nics)
    if "shared_folders" in keys and spec.shared_folders is not None:
        set_shared_folders(edit, spec.shared_folders)
    if "disks" in keys and spec.disks is not None:
        environment = tags.environment
        made = disks.set_disks(edit.ctx, edit.sm, spec.disks, environment, edit.created_media, edit.emit)
        if made:
            write_media(edit.sm, [*read_media(edit.sm), *made])
    wanted = VirtualBoxSettings.KEYS if "virtualbox" in keys else \
        [k.removeprefix("virtualbox.") for k in keys if k.startswith("virtualbox.")]
    settings.apply(edit.ctx, edit.sm, spec.virtualbox, wanted)
    if not creating:  # a new machine was tagged when it was registered
        write_tags(edit.sm, tags)
