"""The protocol every hypervisor backend implements.

Machines are addressed by VirtualBox UUID (``ref`` may also be a name where a
method says so).  Every method either does all of its work or raises a
HostedError and leaves the machine as it was; no raw hypervisor exception
leaves a backend.  Long operations report through ``emit``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from hosted.backend.networks import (
    Attachment,
    DhcpServerInfo,
    DhcpSpec,
    NatNetworkInfo,
    NetworkObject,
    NetworkState,
)
from hosted.events import Emit
from hosted.model import BackendInfo, Disk, MachineSpec, ObservedMachine, PowerState, SnapshotInfo, Tags

__all__ = ["Attachment", "DhcpServerInfo", "DhcpSpec", "NatNetworkInfo", "NetworkObject", "NetworkState"]

StopMode = Literal["acpi", "poweroff"]
StartMode = Literal["headless", "gui"]

# A key ``configure`` understands: one of MachineSpec.CONFIG_KEYS, "virtualbox.KEY" (one key of
# ``virtualbox``: VirtualBoxSettings.KEYS), "forwards" (only the NAT forwards of the adapters),
# or "tags" (hosted's tags alone).
ConfigKey = str

# Keys that can be changed while the machine runs.  Everything else needs it powered off.
RUNTIME_KEYS: frozenset[str] = frozenset({"shared_folders", "dvd", "forwards", "virtualbox.extradata",
                                          "virtualbox.clipboard", "virtualbox.drag_and_drop"})

TemplateKind = Literal["ovf", "disk"]
INSTALL_PENDING = "pending"  # MachineRecords.install of a machine whose install is not prepared yet


@dataclass(frozen=True)
class MachineRecords:
    """What hosted recorded on a machine it owns: kept with the machine, outside its
    snapshots, so restoring a snapshot never forgets that a step ran."""

    provisioned: Mapping[str, str] = field(default_factory=dict)  # step name -> fingerprint of its last run
    install: str = ""  # "" no unattended install; INSTALL_PENDING; else the OS type it was prepared for
    guest: Mapping[str, str] = field(default_factory=dict)  # "addresses"/"hosts" -> what the guest was given


@dataclass(frozen=True)
class GuestInfo:
    """What a guest's Additions report (both None without Guest Additions)."""

    additions: str | None = None  # their version
    ipv4: str | None = None  # the first adapter's IPv4 address


@dataclass(frozen=True)
class TemplateSource:
    """A local, verified image to import as a template machine.

    ``kind`` "ovf": ``path`` is an .ovf (its disks beside it) or an .ova, read by
    VirtualBox's appliance import; "disk": ``path`` is a single disk image
    (.vdi, .vmdk, .vhd) that becomes the boot disk.  The user's files are only
    read, never changed.
    """

    image_name: str  # the profile's name for the image (a label on the template)
    kind: TemplateKind
    path: str  # absolute
    digest: str  # sha256 of the image as the cache holds it; the template's identity
    arch: str = ""  # "x86_64", "arm64"; "" = unknown
    os_type: str = ""  # a VirtualBox OS type id for disk images ("" = a generic 64-bit Linux)


@dataclass(frozen=True)
class TemplateInfo:
    """A template machine as read from the hypervisor just now."""

    uuid: str
    vm_name: str
    digest: str  # "" when the machine's settings cannot be read
    image_name: str
    healthy: bool  # registered, readable, with its base snapshot and every disk present
    problem: str = ""  # why it is not healthy
    users: tuple[str, ...] = ()  # uuids of machines cloned from it (tags or disk children)
    snapshot_id: str = ""  # the base snapshot clones are made from


@dataclass(frozen=True)
class UnattendedSpec:
    """An unattended install of an installer ISO, every value resolved (no defaults left)."""

    iso_path: str  # absolute; only read
    user: str
    password: str
    hostname: str  # fully qualified: VirtualBox splits it into host name and domain
    full_name: str = ""
    locale: str = "en_US"  # ll_CC
    time_zone: str = "Etc/UTC"
    guest_additions: bool = False
    authorized_key: str = ""  # an SSH public key line for ``user``, who also gets password-less sudo
    set_os_type: bool = True  # give the machine the OS type detected on the ISO


@dataclass(frozen=True)
class UnattendedInfo:
    """What the hypervisor found on the ISO and attached to the machine."""

    os_type: str  # guest OS type id, e.g. "Debian12_64"
    os_version: str = ""
    os_flavor: str = ""
    media: tuple[str, ...] = ()  # DVD images now attached: the installer's, or an auxiliary one wrapping it


class Backend(Protocol):
    def info(self) -> BackendInfo:
        """Name, version and API version of the hypervisor."""
        ...

    def list_machines(self, environment: str | None = None, *, others: bool = False,
                      brief: bool = False, nics: bool = True, settings: bool = True) -> list[ObservedMachine]:
        """Every registered machine, owned by hosted or not, read now; with ``environment``,
        only the machines tagged for it (the others are not read in full), and with ``others``
        every other machine too, read in brief (``ObservedMachine.brief``: name, uuid, tags,
        power and NICs with their forwards), as checking host ports and links needs.
        ``brief``: the environment's machines in brief too (every machine, without
        ``environment``), as SSH and listing need; with ``nics=False`` as well, without their
        NICs (``ObservedMachine.nics_read``), as power and snapshot commands need.
        ``settings=False``: read in full but without the ``virtualbox:`` settings
        (``ObservedMachine.settings_read``), for a profile that declares none."""
        ...

    def get_machine(self, ref: str) -> ObservedMachine | None:
        """One machine by UUID or name, or None."""
        ...

    def create_machine(self, spec: MachineSpec, tags: Tags, emit: Emit) -> ObservedMachine:
        """Create, fully configure (one lock, one save) and register a machine.

        ``host: auto`` forwards get a free host port.  On failure nothing of
        the new machine is left registered or on disk.
        """
        ...

    def configure(
        self, uuid: str, spec: MachineSpec, keys: Sequence[ConfigKey], tags: Tags, emit: Emit
    ) -> ObservedMachine:
        """Make the listed keys of an existing machine match ``spec``, and write ``tags``.

        All edits happen under one lock with one save.  ``"forwards"`` as a
        key means only the port forwards of ``spec.nics`` (a runtime change:
        NAT forwards, and the machine's rules in its NAT Network, named VM/RULE);
        ``"nics"`` means the adapters and their forwards.  Keys outside
        RUNTIME_KEYS on a running machine raise OperationFailed.
        """
        ...

    def start(self, uuid: str, mode: StartMode, emit: Emit) -> None:
        """Launch the VM process; a no-op (with an info event) when it already runs."""
        ...

    def stop(self, uuid: str, mode: StopMode, timeout: float, emit: Emit) -> None:
        """ACPI power button, waiting ``timeout`` seconds, then power off; or power off at once.

        A no-op when the machine is already off; on a saved machine it discards the saved state.
        """
        ...

    def save_state(self, uuid: str, emit: Emit) -> None: ...

    def resume(self, uuid: str, emit: Emit) -> None:
        """Start a saved (or powered-off) machine, or unpause a paused one."""
        ...

    def destroy(self, uuid: str, emit: Emit) -> None:
        """Power off if needed, unregister, delete the settings and the media hosted created (a
        shareable disk only when no other machine has it attached); drop the machine's NAT Network
        port forwards and its fixed addresses in hosted's DHCP servers."""
        ...

    def records(self, uuid: str) -> MachineRecords:
        """What hosted recorded on the machine (kept with it, outside its snapshots)."""
        ...

    def record_provisioned(self, uuid: str, step: str, fingerprint: str) -> None:
        """Record that provisioning step ``step`` ran with ``fingerprint`` ("" forgets it)."""
        ...

    def record_guest(self, uuid: str, what: str, fingerprint: str) -> None:
        """Record that the guest's ``what`` ("addresses", "hosts") was set as ``fingerprint`` says."""
        ...

    def record_install(self, uuid: str, state: str) -> None:
        """Record how far the machine's unattended install got (see MachineRecords.install)."""
        ...

    def guest_info(self, uuid: str) -> GuestInfo:
        """What the guest's Additions report now (nothing, for a guest without them)."""
        ...

    def wait_power(self, uuid: str, until: Collection[PowerState], timeout: float) -> PowerState:
        """Block until the machine's power state is one of ``until``, or ``timeout`` seconds
        pass; return the state then.  Driven by the hypervisor's events where it has them."""
        ...

    def log_paths(self, uuid: str) -> dict[str, str]:
        """Diagnostic files: ``{"serial": ..., "vbox": ...}`` where they exist or will."""
        ...

    def take_snapshot(self, uuid: str, name: str, description: str, emit: Emit) -> SnapshotInfo: ...

    def list_snapshots(self, uuid: str) -> list[SnapshotInfo]:
        """The machine's snapshots, parents first (a template's base snapshot is never listed)."""
        ...

    def restore_snapshot(self, uuid: str, snapshot_id: str, emit: Emit) -> None: ...

    def delete_snapshot(self, uuid: str, snapshot_id: str, emit: Emit) -> None: ...

    # ---- templates and clones (base images) ----

    def import_template(self, source: TemplateSource, emit: Emit) -> TemplateInfo:
        """Import ``source`` as a template machine with a base snapshot.

        The template is tagged with the image's digest and name, has no
        environment tag (so no environment shows it) and its base snapshot's
        description starts with ``hosted-template:``.  NAT port forwards the
        image carries are dropped (every clone would clash on them).  On
        failure nothing of the new template is left.
        """
        ...

    def list_templates(self) -> list[TemplateInfo]:
        """Every template machine (healthy or not), read now, with the machines that use it."""
        ...

    def find_template(self, digest: str) -> TemplateInfo | None:
        """A template of the image ``digest``: a healthy one if there is one, else a broken
        one, else None.  ``users`` is read only for a broken one (whether it may be removed
        depends on it); a healthy one's is left empty, since reading who uses a template takes
        a pass over every machine of the host (``list_templates`` reads it)."""
        ...

    def clone_from_template(
        self, template_uuid: str, spec: MachineSpec, tags: Tags, linked: bool, emit: Emit
    ) -> ObservedMachine:
        """A new machine from the template's base snapshot: a linked clone (a differencing
        disk over the template's) or a full copy; then the spec's declared keys, hosted's
        tags and ``hosted/template-of`` under one lock.  Undeclared keys keep the image's
        values.  On failure only what this call made is removed; the template is untouched.
        """
        ...

    def delete_template(self, uuid: str, emit: Emit) -> None:
        """Remove a template machine and its disks; refuses (ImageError) while a machine uses it."""
        ...

    # ---- installer ISOs ----

    def prepare_unattended(self, uuid: str, spec: UnattendedSpec, emit: Emit) -> UnattendedInfo:
        """Make a powered-off machine hosted owns boot the ISO's installer, answering it from ``spec``.

        The OS on the ISO is detected first: an ISO the hypervisor cannot install
        unattended is refused with ImageError naming what it detected, and the
        machine is left as it was.  The installer's media go into the DVD drive.
        """
        ...

    # ---- networks ----

    def list_networks(self, attachments: bool = True) -> NetworkState:
        """DHCP servers, NAT Networks (with which hosted created) and every machine's attachments
        (``attachments=False``: none; reading them reads every machine's adapters)."""
        ...

    def ensure_dhcp_server(self, spec: DhcpSpec, emit: Emit) -> DhcpServerInfo:
        """Make the DHCP server of ``spec.network`` match ``spec`` (creating it, marked as hosted's,
        if there is none) and give each MAC its fixed address; fixed addresses of MACs no
        registered machine has are dropped.  A server hosted did not create is never changed:
        OperationFailed."""
        ...

    def ensure_nat_network(self, name: str, cidr: str, emit: Emit) -> NatNetworkInfo:
        """A NAT Network ``name`` with range ``cidr``, enabled (created, marked as hosted's, if
        there is none).  One hosted did not create is left as it is: OperationFailed when its
        range differs."""
        ...

    def remove_network(self, kind: NetworkObject, name: str, emit: Emit) -> None:
        """Remove a DHCP server or NAT Network hosted created (a NAT Network with its DHCP server);
        a no-op when it is gone; OperationFailed for one hosted did not create."""
        ...

    # ---- disks ----

    def ensure_shared_disk(self, environment: str, disk: Disk, emit: Emit) -> str:
        """The shareable disk ``disk.name`` of ``environment``: created (fixed-size, shareable,
        marked as hosted's) when it does not exist, else left as it is; returns its location.
        Machines attach it through ``configure``/``create_machine`` (``disks``); ``destroy``
        deletes it with the last machine that has it attached."""
        ...

    def recover(self, emit: Emit) -> list[str]:
        """Remove what a run killed in the middle of creating, cloning or importing a machine
        left behind (files, disks, a machine never tagged); returns what was removed.  What
        a live run is doing, and any finished machine of hosted's, is left alone."""
        ...

    def close(self) -> None:
        """Release the connection to the hypervisor."""
        ...

