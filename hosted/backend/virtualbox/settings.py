"""``virtualbox:`` settings on a locked machine, and read back: groups, graphics, audio,
clipboard, drag and drop, nested virtualization, I/O APIC, paravirtualization, USB, promiscuous
mode, the NAT DNS resolver, and extra data (the keys hosted set are recorded on the machine, so
a key dropped from the profile is removed and a value changed outside hosted shows as drift)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from hosted.backend.virtualbox import extradata as xd
from hosted.backend.virtualbox.context import Ctx
from hosted.model import VirtualBoxSettings

GRAPHICS = {"vmsvga": "VMSVGA", "vboxvga": "VBoxVGA", "vboxsvga": "VBoxSVGA", "none": "Null"}
SHARING = {"disabled": "Disabled", "host_to_guest": "HostToGuest", "guest_to_host": "GuestToHost",
           "bidirectional": "Bidirectional"}
PARAVIRT = {"none": "None", "default": "Default", "legacy": "Legacy", "minimal": "Minimal",
            "hyperv": "HyperV", "kvm": "KVM"}
PROMISCUOUS = {"deny": "Deny", "allow_vms": "AllowNetwork", "allow_all": "AllowAll"}
USB = {"ohci": ("OHCI",), "ehci": ("OHCI", "EHCI"), "xhci": ("XHCI",)}  # USB 2.0 keeps OHCI beside EHCI


def _const(ctx: Ctx, enum: str, name: str) -> int:
    return int(getattr(ctx.const, f"{enum}_{name}"))


def _name(ctx: Ctx, enum: str, table: dict[str, str], value: int) -> str:
    return next((k for k, v in table.items() if _const(ctx, enum, v) == int(value)), str(value))


def enabled_adapters(ctx: Ctx, sm: Any, slots: int | None = None) -> list[Any]:
    """The enabled network adapters, in slot order (``slots``: of the first ones only)."""
    adapters = [sm.getNetworkAdapter(slot) for slot in range(ctx.max_nics(sm) if slots is None else slots)]
    return [a for a in adapters if a.enabled]


def apply(ctx: Ctx, sm: Any, want: VirtualBoxSettings, keys: Collection[str]) -> None:
    """Set the declared ``keys`` (VirtualBoxSettings field names) of ``want`` on the locked machine."""
    for key in keys:
        value = getattr(want, key)
        if value is not None:
            _SETTERS[key](ctx, sm, value)


def _set_usb(ctx: Ctx, sm: Any, value: str) -> None:
    wanted = USB.get(value, ())
    kinds = {k: k for k in ("OHCI", "EHCI", "XHCI")}
    have = {str(c.name): _name(ctx, "USBControllerType", kinds, c.type)
            for c in ctx.array(sm, "USBControllers")}
    if sorted(have.values()) == sorted(wanted):
        return
    for name in have:
        sm.removeUSBController(name)
    for kind in wanted:
        sm.addUSBController(kind, _const(ctx, "USBControllerType", kind))


def _set_promiscuous(ctx: Ctx, sm: Any, value: str) -> None:
    for adapter in enabled_adapters(ctx, sm):
        adapter.promiscModePolicy = _const(ctx, "NetworkAdapterPromiscModePolicy", PROMISCUOUS[value])


def _set_dns(ctx: Ctx, sm: Any, value: bool) -> None:
    nat = int(ctx.const.NetworkAttachmentType_NAT)
    for adapter in enabled_adapters(ctx, sm):
        if int(adapter.attachmentType) == nat:
            adapter.NATEngine.DNSUseHostResolver = value


def _set_extradata(ctx: Ctx, sm: Any, value: tuple[tuple[str, str], ...]) -> None:
    wanted = dict(value)
    for key in xd.read_json(sm, xd.EXTRADATA_KEYS, []):
        if key not in wanted:
            sm.setExtraData(key, "")  # set by hosted before, no longer in the profile
    for key, text in wanted.items():
        sm.setExtraData(key, text)
    xd.write_json(sm, xd.EXTRADATA_KEYS, sorted(wanted))


def _set_groups(ctx: Ctx, sm: Any, value: tuple[str, ...]) -> None:
    # An array attribute: set through the manager, as XPCOM and COM spell it differently.
    ctx.mgr.setArray(sm, "groups", list(value) or ["/"])


_SETTERS: dict[str, Any] = {
    "groups": _set_groups,
    "vram_mb": lambda ctx, sm, v: setattr(sm.graphicsAdapter, "VRAMSize", v),
    "graphics": lambda ctx, sm, v: setattr(sm.graphicsAdapter, "graphicsControllerType",
                                           _const(ctx, "GraphicsControllerType", GRAPHICS[v])),
    "audio": lambda ctx, sm, v: setattr(sm.audioSettings.adapter, "enabled", v),
    "clipboard": lambda ctx, sm, v: setattr(sm, "clipboardMode", _const(ctx, "ClipboardMode", SHARING[v])),
    "drag_and_drop": lambda ctx, sm, v: setattr(sm, "dnDMode", _const(ctx, "DnDMode", SHARING[v])),
    "nested_virtualization": lambda ctx, sm, v: ctx.api.set_nested_virtualization(sm, ctx.const, v),
    "ioapic": lambda ctx, sm, v: setattr(ctx.api.firmware_settings(sm), "IOAPICEnabled", v),
    "paravirt": lambda ctx, sm, v: setattr(sm, "paravirtProvider", _const(ctx, "ParavirtProvider",
                                                                           PARAVIRT[v])),
    "usb": _set_usb,
    "nic_promiscuous": _set_promiscuous,
    "nat_dns_host_resolver": _set_dns,
    "extradata": _set_extradata,
}


def read(ctx: Ctx, machine: Any, adapters: list[Any] | None = None) -> VirtualBoxSettings:
    """Every setting as the machine has it (extra data: the keys hosted set, with their values now);
    ``adapters``: its enabled network adapters, when the caller has read them already."""
    graphics = machine.graphicsAdapter
    adapters = enabled_adapters(ctx, machine) if adapters is None else adapters
    policies = {_name(ctx, "NetworkAdapterPromiscModePolicy", PROMISCUOUS, a.promiscModePolicy)
                for a in adapters}
    nat = [a for a in adapters if int(a.attachmentType) == int(ctx.const.NetworkAttachmentType_NAT)]
    usb = {int(c.type) for c in ctx.array(machine, "USBControllers")}
    kinds = {k for k in ("OHCI", "EHCI", "XHCI") if _const(ctx, "USBControllerType", k) in usb}
    keys = xd.read_json(machine, xd.EXTRADATA_KEYS, [])
    return VirtualBoxSettings(
        groups=tuple(str(g) for g in ctx.array(machine, "groups")),
        vram_mb=int(graphics.VRAMSize),
        graphics=_name(ctx, "GraphicsControllerType", GRAPHICS, graphics.graphicsControllerType),
        audio=bool(machine.audioSettings.adapter.enabled),
        clipboard=_name(ctx, "ClipboardMode", SHARING, machine.clipboardMode),
        drag_and_drop=_name(ctx, "DnDMode", SHARING, machine.dnDMode),
        nested_virtualization=ctx.api.nested_virtualization(machine, ctx.const),
        ioapic=bool(ctx.api.firmware_settings(machine).IOAPICEnabled),
        paravirt=_name(ctx, "ParavirtProvider", PARAVIRT, machine.paravirtProvider),
        usb="xhci" if "XHCI" in kinds else "ehci" if "EHCI" in kinds else "ohci" if kinds else "none",
        nic_promiscuous=policies.pop() if len(policies) == 1 else ("mixed" if policies else "deny"),
        nat_dns_host_resolver=bool(nat[0].NATEngine.DNSUseHostResolver) if nat else False,
        extradata=tuple(sorted((str(k), v) for k in keys if (v := str(machine.getExtraData(k) or "")))),
    )
