"""VirtualBox's DHCP servers (IDHCPServer): read them, run hosted's own, fixed address per MAC.

A server hosted created is marked in VirtualBox's global extradata before it exists; any
other server is only read.  Fixed addresses are IDHCPIndividualConfig objects of MAC scope;
VBoxSVC saves every change to VirtualBox.xml itself.
"""

from __future__ import annotations

from typing import Any

from hosted.backend.base import DhcpServerInfo, DhcpSpec
from hosted.backend.virtualbox import extradata as xd
from hosted.backend.virtualbox.context import Ctx
from hosted.backend.virtualbox.translate import E_INVALIDARG, VBOX_E_OBJECT_NOT_FOUND, status_of
from hosted.errors import OperationFailed
from hosted.events import Emit, Event

KIND = "dhcp"


def find(ctx: Ctx, network: str) -> Any | None:
    try:
        return ctx.vbox.findDHCPServerByNetworkName(network)
    except ctx.xcpt as exc:
        if status_of(ctx, exc) in (E_INVALIDARG, VBOX_E_OBJECT_NOT_FOUND):
            return None
        raise


def _individual(ctx: Ctx, config: Any) -> Any:
    return ctx.mgr.queryInterface(config, "IDHCPIndividualConfig")


def fixed_addresses(ctx: Ctx, server: Any) -> dict[str, Any]:
    """MAC (12 upper-case hex digits) -> its IDHCPIndividualConfig, for configs of MAC scope."""
    out = {}
    for raw in ctx.array(server, "individualConfigs"):
        config = _individual(ctx, raw)
        if int(config.scope) == int(ctx.const.DHCPConfigScope_MAC):
            out[str(config.MACAddress).replace(":", "").upper()] = config
    return out


def info(ctx: Ctx, server: Any) -> DhcpServerInfo:
    network = str(server.networkName)
    return DhcpServerInfo(
        network=network, server=str(server.IPAddress), netmask=str(server.networkMask),
        lower=str(server.lowerIP), upper=str(server.upperIP), enabled=bool(server.enabled),
        fixed={mac: str(c.fixedAddress) for mac, c in fixed_addresses(ctx, server).items()},
        owned=xd.network_owned(ctx.vbox, KIND, network),
    )


def list_servers(ctx: Ctx) -> list[DhcpServerInfo]:
    return [info(ctx, s) for s in ctx.array(ctx.vbox, "DHCPServers")]


def ensure(ctx: Ctx, spec: DhcpSpec, macs_in_use: set[str], emit: Emit) -> DhcpServerInfo:
    server = find(ctx, spec.network)
    if server is None:
        xd.mark_network(ctx.vbox, KIND, spec.network, True)
        server = ctx.vbox.createDHCPServer(spec.network)
        emit(Event("info", f"created a DHCP server for {spec.network} ({spec.server})"))
    elif not xd.network_owned(ctx.vbox, KIND, spec.network):
        raise OperationFailed(f"the DHCP server of {spec.network} was not created by hosted; it is left "
                              "as it is", "remove it (VBoxManage dhcpserver remove --network=NAME) to let "
                              "hosted run its own, or give the machines' NICs `static: true`")
    layout = (spec.server, spec.netmask, spec.lower, spec.upper)
    if (str(server.IPAddress), str(server.networkMask), str(server.lowerIP), str(server.upperIP)) != layout:
        server.setConfiguration(*layout)
    if spec.gateway:
        options = server.globalConfig
        for option in (ctx.const.DHCPOption_Routers, ctx.const.DHCPOption_DomainNameServers):
            options.setOption(option, ctx.const.DHCPOptionEncoding_Normal, spec.gateway)
    if not server.enabled:
        server.enabled = True
    _set_fixed(ctx, server, dict(spec.fixed), macs_in_use)
    return info(ctx, server)


def _set_fixed(ctx: Ctx, server: Any, wanted: dict[str, str], macs_in_use: set[str]) -> None:
    current = fixed_addresses(ctx, server)
    for mac, config in current.items():
        if mac not in wanted and mac not in macs_in_use:  # its machine is gone
            config.remove()
    for mac, address in wanted.items():
        config = current.get(mac) or _individual(
            ctx, server.getConfig(ctx.const.DHCPConfigScope_MAC, mac, 0, True))
        if str(config.fixedAddress) != address:
            config.fixedAddress = address


def owned_servers(ctx: Ctx) -> list[Any]:
    """The DHCP servers hosted created."""
    return [server for server in ctx.array(ctx.vbox, "DHCPServers")
            if xd.network_owned(ctx.vbox, KIND, str(server.networkName))]


def forget_macs(ctx: Ctx, macs: set[str], servers: list[Any]) -> None:
    """Drop the fixed addresses of ``macs`` from ``servers`` (``owned_servers``)."""
    for server in servers:
        for mac, config in fixed_addresses(ctx, server).items():
            if mac in macs:
                config.remove()


def remove(ctx: Ctx, network: str, emit: Emit) -> None:
    server = find(ctx, network)
    if server is not None:
        if not xd.network_owned(ctx.vbox, KIND, network):
            raise OperationFailed(f"refusing to remove the DHCP server of {network}: hosted did not "
                                  "create it",
                                  "hosted only removes the DHCP servers it created")
        ctx.vbox.removeDHCPServer(server)
        emit(Event("info", f"removed the DHCP server of {network}"))
    xd.mark_network(ctx.vbox, KIND, network, False)
