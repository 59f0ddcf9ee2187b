"""Typed, frozen steps: everything a command does, as data.

``hosted.planner`` makes them, ``hosted plan`` prints them, and ``hosted.run``
runs them through one dispatch table.  Families: machine (create, configure,
power, destroy), image (fetch, template, clone, seed, install), guest (wait,
provision, baseline), snapshot steps, and network steps (NAT Networks, DHCP servers, link
ports, addresses and names in the guest).
"""

from hosted.steps.ansible import RunAnsible
from hosted.steps.base import Noop, Step
from hosted.steps.guest import Provision, RebootGuest, SetHostname, TakeBaseline, WaitReady
from hosted.steps.image import Clone, FetchImage, ImportTemplate, InstallFromIso, WriteSeed
from hosted.steps.machine import (
    KEY_LABELS,
    Change,
    Configure,
    Create,
    Destroy,
    Resume,
    SetUpSharedDisk,
    Start,
    Stop,
    Suspend,
    key_label,
)
from hosted.steps.network import (
    RemoveNetwork,
    ReserveLinkPorts,
    SetAddresses,
    SetUpDhcpServer,
    SetUpNatNetwork,
    WriteHosts,
)
from hosted.steps.snapshot import DeleteSnapshot, RestoreSnapshot, TakeSnapshot

__all__ = [
    "KEY_LABELS",
    "Change",
    "Clone",
    "Configure",
    "Create",
    "DeleteSnapshot",
    "Destroy",
    "FetchImage",
    "ImportTemplate",
    "InstallFromIso",
    "Noop",
    "Provision",
    "RebootGuest",
    "RemoveNetwork",
    "ReserveLinkPorts",
    "RestoreSnapshot",
    "Resume",
    "RunAnsible",
    "SetAddresses",
    "SetHostname",
    "SetUpDhcpServer",
    "SetUpNatNetwork",
    "SetUpSharedDisk",
    "Start",
    "Step",
    "Stop",
    "Suspend",
    "TakeBaseline",
    "TakeSnapshot",
    "WaitReady",
    "WriteHosts",
    "WriteSeed",
    "key_label",
]
