"""The one table from a step's type to the handler that runs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hosted.run import ansible, guest, image, machine, network, snapshot
from hosted.run.context import StepContext
from hosted.steps import (
    Clone,
    Configure,
    Create,
    DeleteSnapshot,
    Destroy,
    FetchImage,
    ImportTemplate,
    InstallFromIso,
    Provision,
    RebootGuest,
    RemoveNetwork,
    ReserveLinkPorts,
    RestoreSnapshot,
    Resume,
    RunAnsible,
    SetAddresses,
    SetHostname,
    SetUpDhcpServer,
    SetUpNatNetwork,
    SetUpSharedDisk,
    Start,
    Step,
    Stop,
    Suspend,
    TakeBaseline,
    TakeSnapshot,
    WaitReady,
    WriteHosts,
    WriteSeed,
)

Handler = Callable[[Any, StepContext], None]

HANDLERS: dict[type[Step], Handler] = {
    Create: machine.create,
    Configure: machine.configure,
    Start: machine.start,
    Stop: machine.stop,
    Suspend: machine.suspend,
    Resume: machine.resume,
    Destroy: machine.destroy,
    FetchImage: image.fetch_image,
    ImportTemplate: image.import_template,
    WriteSeed: image.write_seed,
    Clone: image.clone,
    InstallFromIso: image.install_from_iso,
    WaitReady: guest.wait_ready,
    Provision: guest.provision,
    TakeBaseline: guest.take_baseline,
    TakeSnapshot: snapshot.take_snapshot,
    RestoreSnapshot: snapshot.restore_snapshot,
    DeleteSnapshot: snapshot.delete_snapshot,
    SetUpNatNetwork: network.set_up_natnetwork,
    SetUpDhcpServer: network.set_up_dhcp,
    ReserveLinkPorts: network.reserve_link_ports,
    SetAddresses: network.set_addresses,
    WriteHosts: network.write_hosts,
    RemoveNetwork: network.remove_network,
    SetUpSharedDisk: machine.set_up_shared_disk,
    SetHostname: guest.set_hostname,
    RebootGuest: guest.reboot_guest,
    RunAnsible: ansible.run_ansible,
}


def execute(step: Step, ctx: StepContext) -> None:
    HANDLERS[type(step)](step, ctx)
