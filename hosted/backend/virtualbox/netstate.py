"""The host's networks as the Backend reports them: DHCP servers, NAT Networks, and which
machine is attached to which (read from every registered machine's adapters)."""

from __future__ import annotations

from typing import Any

from hosted.backend.base import Attachment, NetworkState
from hosted.backend.virtualbox import dhcp, natnet
from hosted.backend.virtualbox.context import Ctx
from hosted.model import NicKind


def _named(ctx: Ctx, adapter: Any) -> tuple[NicKind, str] | None:
    c, kind = ctx.const, int(adapter.attachmentType)
    if kind == int(c.NetworkAttachmentType_Internal):
        return "internal", str(adapter.internalNetwork or "")
    if kind == int(c.NetworkAttachmentType_HostOnly):
        return "hostonly", str(adapter.hostOnlyInterface or "")
    if kind == int(c.NetworkAttachmentType_NATNetwork):
        return "natnetwork", str(adapter.NATNetwork or "")
    return None


def scan(ctx: Ctx) -> tuple[list[Attachment], set[str]]:
    """Every machine's attachments to named networks, and every MAC any adapter has."""
    found: list[Attachment] = []
    macs: set[str] = set()
    for machine in ctx.array(ctx.vbox, "machines"):
        try:
            if not machine.accessible:
                continue
            uuid, name = str(machine.id), str(machine.name)
            for slot in range(ctx.max_nics(machine)):
                adapter = machine.getNetworkAdapter(slot)
                macs.add(str(adapter.MACAddress or "").upper())
                named = _named(ctx, adapter) if adapter.enabled else None
                if named is not None:
                    found.append(Attachment(uuid, name, *named))
        except ctx.xcpt:  # unregistered meanwhile
            continue
    return found, macs


def read(ctx: Ctx, attachments: bool = True) -> NetworkState:
    found = scan(ctx)[0] if attachments else []
    return NetworkState(dhcp=tuple(dhcp.list_servers(ctx)), natnetworks=tuple(natnet.list_networks(ctx)),
                        attachments=tuple(found))


def release_machine(ctx: Ctx, machine: Any) -> None:
    """Before a machine is deleted: its rules in NAT Networks, its fixed addresses in hosted's
    DHCP servers (other machines' and other programs' are left alone).  With neither a NAT
    Network nor a DHCP server of hosted's on the host (the usual case), there is nothing to
    release and the adapters are not read."""
    servers = dhcp.owned_servers(ctx)
    if not servers and not ctx.array(ctx.vbox, "NATNetworks"):
        return
    nets: set[str] = set()
    macs: set[str] = set()
    for slot in range(ctx.max_nics(machine)):
        adapter = machine.getNetworkAdapter(slot)
        macs.add(str(adapter.MACAddress or "").upper())
        named = _named(ctx, adapter) if adapter.enabled else None
        if named is not None and named[0] == "natnetwork":
            nets.add(named[1])
    natnet.drop_machine_rules(ctx, str(machine.name), nets)
    dhcp.forget_macs(ctx, macs - {""}, servers)
