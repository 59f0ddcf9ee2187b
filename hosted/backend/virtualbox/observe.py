"""Reading a machine from VirtualBox into ObservedMachine (never cached)."""

from __future__ import annotations

import os
import time
from typing import Any

from hosted.backend.virtualbox import disks, natnet, overlap, settings
from hosted.backend.virtualbox.context import MB, Ctx
from hosted.backend.virtualbox.extradata import read_media, read_tags
from hosted.model import (
    Firmware,
    Forward,
    Nic,
    NicKind,
    ObservedMachine,
    PowerState,
    SharedFolder,
    VirtualBoxSettings,
)

_POWER = {
    "PoweredOff": PowerState.POWEROFF, "Teleported": PowerState.POWEROFF,
    "Aborted": PowerState.ABORTED, "Saved": PowerState.SAVED, "AbortedSaved": PowerState.SAVED,
    "Running": PowerState.RUNNING, "Teleporting": PowerState.RUNNING,
    "LiveSnapshotting": PowerState.RUNNING, "OnlineSnapshotting": PowerState.RUNNING,
    "DeletingSnapshotOnline": PowerState.RUNNING, "Paused": PowerState.PAUSED,
    "TeleportingPausedVM": PowerState.PAUSED, "DeletingSnapshotPaused": PowerState.PAUSED,
    "Stuck": PowerState.STUCK, "Starting": PowerState.STARTING, "TeleportingIn": PowerState.STARTING,
    "Stopping": PowerState.STOPPING, "Saving": PowerState.SAVING, "Restoring": PowerState.RESTORING,
}


def power_state(ctx: Ctx, state: int) -> PowerState:
    # By constant, not getEnumValueName: aliases (FirstOnline = Running) hide the real name.
    if not ctx.power_names:
        ctx.power_names.update({int(getattr(ctx.const, f"MachineState_{name}")): power
                                for name, power in _POWER.items()})
    return ctx.power_names.get(int(state), PowerState.UNKNOWN)


def adapter_type_name(ctx: Ctx, value: int) -> str:
    """NetworkAdapterType -> the profile's spelling ("82540EM", "virtio", "Am79C973")."""
    name = str(ctx.mgr.getEnumValueName("NetworkAdapterType", int(value)))
    if name == "Virtio":
        return "virtio"
    return name[1:] if name.startswith("I8") else name


def nic_device(ctx: Ctx, value: int) -> str:
    """The emulated device behind a NetworkAdapterType, as VirtualBox's device settings name it."""
    name = adapter_type_name(ctx, value)
    if name.startswith("Am79"):
        return "pcnet"
    if name.startswith("8254"):
        return "e1000"
    return "virtio-net" if name.lower().startswith("virtio") else name.lower()


def parse_redirect(rule: str) -> Forward:
    """``name,proto,hostip,hostport,guestip,guestport`` (proto 1 = TCP, 0 = UDP)."""
    name, proto, host_ip, host_port, guest_ip, guest_port = rule.split(",")
    return Forward(name=name, guest=int(guest_port), host=int(host_port), host_ip=host_ip,
                   protocol="tcp" if proto == "1" else "udp", guest_ip=guest_ip)


def read_forwards(ctx: Ctx, adapter: Any) -> tuple[Forward, ...]:
    return tuple(parse_redirect(str(r)) for r in ctx.array(adapter.NATEngine, "redirects"))


UDP_TUNNEL = "UDPTunnel"  # VirtualBox's generic driver that links two VMs over UDP (no kernel driver)


def read_link(adapter: Any) -> tuple[int | None, int | None]:
    """(this end's UDP port, the other end's) of a UDPTunnel adapter."""
    values, names = adapter.getProperties("")
    props = dict(zip((str(n) for n in names), (str(v) for v in values), strict=False))

    def port(key: str) -> int | None:
        return int(props[key]) if props.get(key, "").isdigit() else None

    return port("sport"), port("dport")


def read_nic(ctx: Ctx, adapter: Any, vm_name: str = "") -> Nic | None:
    c, kind = ctx.const, int(adapter.attachmentType)
    adapter_type = adapter_type_name(ctx, adapter.adapterType)
    mac = str(adapter.MACAddress or "").upper() or None
    if kind == c.NetworkAttachmentType_NAT:
        return Nic("nat", forwards=read_forwards(ctx, adapter), adapter_type=adapter_type, mac=mac)
    if kind == c.NetworkAttachmentType_NATNetwork:
        name = str(adapter.NATNetwork or "")
        return Nic("natnetwork", network=name, adapter_type=adapter_type, mac=mac,
                   forwards=natnet.machine_rules(ctx, name, vm_name) if name and vm_name else ())
    if kind == c.NetworkAttachmentType_Generic and str(adapter.genericDriver) == UDP_TUNNEL:
        port, peer_port = read_link(adapter)
        return Nic("link", adapter_type=adapter_type, mac=mac, link_port=port, peer_port=peer_port)
    fields: dict[int, tuple[NicKind, str]] = {
        c.NetworkAttachmentType_Internal: ("internal", "internalNetwork"),
        c.NetworkAttachmentType_HostOnly: ("hostonly", "hostOnlyInterface"),
        c.NetworkAttachmentType_Bridged: ("bridged", "bridgedInterface"),
    }
    if kind not in fields:  # other generic drivers, cloud...: not hosted's; shows up as drift
        return None
    nic_kind, attr = fields[kind]
    value = str(getattr(adapter, attr) or "")
    if nic_kind == "internal":
        return Nic("internal", network=value, adapter_type=adapter_type, mac=mac)
    return Nic(nic_kind, interface=value, adapter_type=adapter_type, mac=mac)


def read_nics(ctx: Ctx, machine: Any, adapters: list[Any] | None = None) -> tuple[Nic, ...]:
    """The NICs of the enabled ``adapters`` (read here when not given), in slot order."""
    vm_name = str(machine.name)
    found = (read_nic(ctx, a, vm_name) for a in (settings.enabled_adapters(ctx, machine)
                                                  if adapters is None else adapters))
    return tuple(nic for nic in found if nic is not None)


def read_shared_folders(ctx: Ctx, machine: Any) -> tuple[SharedFolder, ...]:
    return tuple(
        SharedFolder(name=str(f.name), host=str(f.hostPath), guest=str(f.autoMountPoint or ""),
                     readonly=not f.writable, automount=bool(f.autoMount))
        for f in ctx.array(machine, "sharedFolders")
    )


def read_storage(ctx: Ctx, machine: Any, owned: list[str]) -> tuple[int | None, str | None]:
    """(size in MB of hosted's disk, path of the attached DVD image)."""
    disk_mb: int | None = None
    dvd: str | None = None
    for att in ctx.array(machine, "mediumAttachments"):
        medium = att.medium
        if medium is None:
            continue
        if att.type == ctx.const.DeviceType_HardDisk and str(medium.base.location) in owned:
            disk_mb = int(medium.logicalSize) // MB
        elif att.type == ctx.const.DeviceType_DVD and dvd is None:
            dvd = str(medium.location)
    return disk_mb, dvd


def firmware(ctx: Ctx, machine: Any) -> Firmware:
    return "bios" if ctx.api.firmware_type(machine) == ctx.const.FirmwareType_BIOS else "efi"


def observe(ctx: Ctx, machine: Any, nic_slots: int | None = None,
            with_settings: bool = True) -> ObservedMachine:
    """Every setting hosted compares; ``with_settings=False``: not the ``virtualbox:`` ones
    (about 20 of a read's 70 calls), which a profile that declares none never compares."""
    if not machine.accessible:
        return inaccessible(machine)
    tags = read_tags(machine)
    disk_mb, dvd = read_storage(ctx, machine, read_media(machine) if tags else [])
    # Sixteen calls for eight slots: read once, for the NICs and for the settings of NICs.
    # ``nic_slots``: a machine hosted has just made has nothing enabled beyond the ones it set.
    adapters = settings.enabled_adapters(ctx, machine, nic_slots)
    return ObservedMachine(
        uuid=str(machine.id), vm_name=str(machine.name), tags=tags,
        power=power_state(ctx, machine.state), os_type=str(machine.OSTypeId),
        cpus=int(machine.CPUCount), memory_mb=int(machine.memorySize), firmware=firmware(ctx, machine),
        nics=read_nics(ctx, machine, adapters), shared_folders=read_shared_folders(ctx, machine),
        disk_mb=disk_mb, dvd=dvd, settings_file=str(machine.settingsFilePath),
        session_locked=int(machine.sessionState) != int(ctx.const.SessionState_Unlocked),
        disks=disks.read_disks(ctx, machine) if tags else (),
        virtualbox=settings.read(ctx, machine, adapters) if with_settings else VirtualBoxSettings(),
        settings_read=with_settings,
    )


def observe_brief(ctx: Ctx, machine: Any, nics: bool = True) -> ObservedMachine:
    """Name, uuid, tags, power and NICs (forwards, links): what another machine's host ports
    and links need, without its storage, folders and settings (most of a full read's calls).
    ``nics=False``: without the NICs too (about two dozen calls a machine: 16 for the slots)."""
    if not machine.accessible:
        return inaccessible(machine)
    return ObservedMachine(
        uuid=str(machine.id), vm_name=str(machine.name), tags=read_tags(machine),
        power=power_state(ctx, machine.state), os_type="", cpus=0, memory_mb=0, firmware="bios",
        nics=read_nics(ctx, machine) if nics else (), shared_folders=(),
        settings_file=str(machine.settingsFilePath), brief=True, nics_read=nics,
    )


def inaccessible(machine: Any) -> ObservedMachine:
    """A machine whose settings cannot be read: only its id and file are known."""
    path = str(machine.settingsFilePath)
    return ObservedMachine(
        uuid=str(machine.id), vm_name=os.path.splitext(os.path.basename(path))[0], tags=None,
        power=PowerState.UNKNOWN, os_type="", cpus=0, memory_mb=0, firmware="bios", nics=(),
        shared_folders=(), settings_file=path, accessible=False,
    )


PORT_SCAN_SECONDS = 2.0


def host_ports(ctx: Ctx) -> set[int]:
    """Host ports forwarded by any registered machine, running or not.

    Scanning costs a few round trips per adapter of every machine (read on a few
    threads at once: overlap.py), so a scan is reused for a couple of seconds:
    ports hosted allocates meanwhile are covered by the PortAllocator's
    reservations, which every run shares.
    """
    now = time.monotonic()
    if ctx.port_scan is not None and now - ctx.port_scan[0] < PORT_SCAN_SECONDS:
        return set(ctx.port_scan[1])
    nat = int(ctx.const.NetworkAttachmentType_NAT)

    def forwarded(machine: Any) -> frozenset[int] | None:
        try:
            if not machine.accessible:
                return None
            ports: set[int] = set()
            for slot in range(ctx.max_nics(machine)):
                adapter = machine.getNetworkAdapter(slot)
                if adapter.enabled and int(adapter.attachmentType) == nat:
                    ports.update(f.host for f in read_forwards(ctx, adapter) if f.host is not None)
            return frozenset(ports)
        except ctx.xcpt:  # a machine vanishing meanwhile takes no port
            return None

    taken: set[int] = set()
    for ports in overlap.each(ctx, ctx.array(ctx.vbox, "machines"), forwarded):
        taken |= ports or set()
    taken |= natnet.forwarded_ports(ctx)
    ctx.port_scan = (now, frozenset(taken))
    return taken
