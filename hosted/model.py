"""What a profile asks for (desired) and what VirtualBox has (observed).

Plain frozen dataclasses with no behaviour beyond derived values: the profile
loader builds the desired side, a backend builds the observed side, and the
planner compares the two.  ``None`` on the desired side means "the profile does
not declare this", and undeclared keys are never compared.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Literal

NicKind = Literal["nat", "internal", "hostonly", "bridged", "natnetwork", "link"]
# NIC kinds that use VirtualBox's host network drivers: no VM with one starts without them.
DRIVER_NIC_KINDS: tuple[NicKind, ...] = ("internal", "hostonly", "bridged", "natnetwork")
AUTO = "auto"  # ``ip: auto``: hosted picks the address
Firmware = Literal["bios", "efi"]
DesiredState = Literal["running", "poweroff"]
Protocol = Literal["tcp", "udp"]

DEFAULT_HOST_IP = "127.0.0.1"
ANY_ADDRESSES = ("", "0.0.0.0", "::")  # a forward from these listens on every host address


class PowerState(enum.StrEnum):
    POWEROFF = "poweroff"
    ABORTED = "aborted"
    SAVED = "saved"
    RUNNING = "running"
    PAUSED = "paused"
    STARTING = "starting"
    STOPPING = "stopping"
    SAVING = "saving"
    RESTORING = "restoring"
    STUCK = "stuck"
    UNKNOWN = "unknown"

    @property
    def is_off(self) -> bool:
        return self in (PowerState.POWEROFF, PowerState.ABORTED, PowerState.SAVED)

    @property
    def is_on(self) -> bool:
        return self in (PowerState.RUNNING, PowerState.PAUSED, PowerState.STUCK)


@dataclass(frozen=True)
class Forward:
    """A NAT port forward.  ``host=None`` means "pick a free port" (``host: auto``)."""

    name: str
    guest: int
    host: int | None
    host_ip: str = DEFAULT_HOST_IP
    protocol: Protocol = "tcp"
    guest_ip: str = ""

    def overlaps(self, other: Forward) -> bool:
        """Would both forwards need the same host port (same protocol, overlapping address)?"""
        same_ip = (self.host_ip == other.host_ip or self.host_ip in ANY_ADDRESSES
                   or other.host_ip in ANY_ADDRESSES)
        return same_ip and self.protocol == other.protocol and self.host == other.host

    def matches(self, other: Forward) -> bool:
        """Does an observed forward satisfy this desired one?  Auto matches any host port."""
        return (
            self.name == other.name
            and self.guest == other.guest
            and self.protocol == other.protocol
            and self.host_ip == other.host_ip
            and self.guest_ip == other.guest_ip
            and (self.host is None or self.host == other.host)
        )


@dataclass(frozen=True)
class Nic:
    """A network adapter as the profile declares it."""
    kind: NicKind
    network: str | None = None  # internal network or NAT Network name
    interface: str | None = None  # host-only or bridged host interface
    forwards: tuple[Forward, ...] = ()  # nat; natnetwork (rules of the NAT Network for this machine)
    adapter_type: str | None = None  # e.g. "82540EM", "virtio"; None = not declared
    # The guest's address on this NIC: "10.20.0.11/24"; "auto" until the planner picks one;
    # None: none declared.  Never read back from VirtualBox (DHCP or the guest holds it).
    ip: str | None = None
    static: bool = False  # set the address inside the guest even where hosted's DHCP server serves it
    peer: str | None = None  # link: the profile name of the machine at the other end
    cidr: str | None = None  # natnetwork: the NAT Network's range, e.g. "10.0.2.0/24"
    # 12 upper-case hex digits.  Desired: None leaves VirtualBox's; the planner gives NICs with
    # addresses a stable one (DHCP and cloud-init find the NIC by it).  Observed: VirtualBox's.
    mac: str | None = None
    link_port: int | None = None  # link: this end's UDP port on 127.0.0.1 (desired None: to be chosen)
    peer_port: int | None = None  # link: the other end's UDP port

    def same_attachment(self, other: Nic) -> bool:
        return (
            self.kind == other.kind
            and (self.network is None or self.network == other.network)
            and (self.interface is None or self.interface == other.interface)
            and (self.adapter_type is None or self.adapter_type == other.adapter_type)
            and (self.mac is None or self.mac == other.mac)
            and (self.link_port is None or self.link_port == other.link_port)
            and (self.peer_port is None or self.peer_port == other.peer_port)
        )

    @property
    def address(self) -> str | None:
        """The declared address without its prefix ("10.20.0.11"), once it is not "auto"."""
        return None if self.ip in (None, AUTO) else str(self.ip).split("/", 1)[0]


@dataclass(frozen=True)
class SharedFolder:
    """A host folder shared with the guest."""
    name: str  # VirtualBox share name
    host: str  # absolute host path
    guest: str  # mount point in the guest ("" = none declared)
    readonly: bool = True  # the guest may write only where the profile says `readonly: false`
    automount: bool = True


@dataclass(frozen=True)
class SshSpec:
    """How hosted logs in to a machine."""
    user: str = "root"
    port: int = 22  # guest port; the host side comes from the forward that targets it
    private_key: str | None = None  # absolute path; None = the environment's own key
    forward_agent: bool = False  # `hosted ssh` forwards the user's ssh-agent (-A)
    forward_x11: bool = False  # `hosted ssh` forwards X11 (-X)


@dataclass(frozen=True)
class ReadySpec:
    """Per-stage timeouts in seconds, and an optional command that must succeed."""

    vm_running: float = 60.0
    guest_network: float = 120.0
    tcp: float = 300.0
    ssh: float = 300.0
    command: str | None = None
    command_timeout: float = 120.0


@dataclass(frozen=True)
class ProvisionStep:
    """One provisioning step of a machine: a shell script or a file to copy."""
    kind: Literal["shell", "file"]
    name: str  # a stable label, used to record "run once"
    inline: str | None = None
    script: str | None = None  # absolute path
    source: str | None = None  # absolute path (file)
    destination: str | None = None
    run: Literal["once", "always"] = "once"
    env: tuple[tuple[str, str], ...] = ()
    privileged: bool = False
    args: tuple[str, ...] = ()  # shell: positional arguments ($1, $2, ...), each quoted on its own
    reboot: bool = False  # reboot the guest after the step, and wait until it is ready again

    def fingerprint(self) -> str:
        return _digest(asdict(self))


ImageKind = Literal["auto", "box", "ova", "ovf", "disk", "iso"]


def is_url(source: str) -> bool:
    """An image source to download (http or https), not a path on this host."""
    return source.lower().startswith(("http://", "https://"))


@dataclass(frozen=True)
class BoxRef:
    """A Vagrant box to find in a catalog (``box:``) or at the URL of its metadata (``box_url:``)."""

    name: str = ""  # the catalog name, "bento/ubuntu-22.04"; "" with box_url
    version: str | None = None  # None: the newest
    metadata_url: str | None = None  # box_url
    catalog: str | None = None  # the catalog's URL; None: $HOSTED_BOX_CATALOG, else Vagrant's

    @property
    def label(self) -> str:
        what = self.name or self.metadata_url or "?"
        return f"{what} {self.version}" if self.version else what


@dataclass(frozen=True)
class ImageSpec:
    """A base image the profile names under ``images:``."""

    name: str
    source: str  # absolute path, or an http(s) URL
    sha256: str | None = None  # required for URLs (or sha256_file); verified for paths when given
    # ``sha256: file:URL``: the publisher's checksum file (SHA256SUMS) that lists the digest,
    # read when the image is fetched (hosted.images.checksums); an http(s) URL or an absolute path.
    sha256_file: str | None = None
    kind: ImageKind = "auto"  # "auto": from the file name / content
    arch: str | None = None  # declared CPU architecture ("x86_64", "arm64"); None = read from the image
    cloud_init: bool = False  # the image expects a NoCloud seed (cloud images)
    # A box by name: ``source`` and ``sha256`` are "" / None until hosted.images.boxes resolves it
    # (the catalog's VirtualBox file for this host's CPU, and the sha256 the catalog lists).
    box: BoxRef | None = None


@dataclass(frozen=True)
class InstallSpec:
    """An unattended OS install from an installer ISO image (VirtualBox's IUnattended)."""

    user: str = "hosted"
    password: str | None = None  # None: generated once, kept in the machine's data directory
    full_name: str = ""  # "" = the user name
    hostname: str | None = None  # None: the machine's name; a name without a domain gets ".localdomain"
    guest_additions: bool = False
    locale: str = "en_US"
    time_zone: str = "Etc/UTC"


@dataclass(frozen=True)
class Disk:
    """An extra disk (``disks:``) on the machine's SATA controller."""

    name: str  # file name stem; unique per machine (per environment for a shareable one)
    size_mb: int
    port: int | None = None  # SATA port; None: the first free one (never compared)
    fixed: bool = False  # fixed-size (allocated at once) instead of dynamically growing
    nonrotational: bool = False  # reported to the guest as an SSD
    shareable: bool = False  # one disk attached to every machine that declares it (fixed-size)


CLIPBOARD_MODES = ("disabled", "host_to_guest", "guest_to_host", "bidirectional")
GRAPHICS = ("vmsvga", "vboxvga", "vboxsvga", "none")
PARAVIRT = ("none", "default", "legacy", "minimal", "hyperv", "kvm")
USB = ("none", "ohci", "ehci", "xhci")
PROMISCUOUS = ("deny", "allow_vms", "allow_all")


@dataclass(frozen=True)
class VirtualBoxSettings:
    """``virtualbox:``: VirtualBox's own settings of a machine; None = not declared (never compared)."""

    groups: tuple[str, ...] | None = None  # VirtualBox Manager groups, "/lab", "/lab/k8s"
    vram_mb: int | None = None
    graphics: str | None = None  # one of GRAPHICS
    audio: bool | None = None  # an audio adapter enabled
    clipboard: str | None = None  # one of CLIPBOARD_MODES
    drag_and_drop: str | None = None  # one of CLIPBOARD_MODES
    nested_virtualization: bool | None = None
    ioapic: bool | None = None
    paravirt: str | None = None  # one of PARAVIRT
    usb: str | None = None  # one of USB: the USB controller
    nic_promiscuous: str | None = None  # one of PROMISCUOUS, on every adapter
    nat_dns_host_resolver: bool | None = None  # NAT adapters resolve names through the host's resolver
    # Extra data hosted sets (KEY, VALUE), sorted; keys hosted set before and the profile no longer
    # names are removed.  Observed: the values of every key hosted set (recorded on the machine).
    extradata: tuple[tuple[str, str], ...] | None = None

    KEYS = ("groups", "vram_mb", "graphics", "audio", "clipboard", "drag_and_drop", "nested_virtualization",
            "ioapic", "paravirt", "usb", "nic_promiscuous", "nat_dns_host_resolver", "extradata")

    def declared(self) -> tuple[str, ...]:
        return tuple(k for k in self.KEYS if getattr(self, k) is not None)


@dataclass(frozen=True)
class MachineSpec:
    """One machine as the profile declares it (after defaults and variables)."""

    name: str  # the profile's machine name
    vm_name: str  # VirtualBox's name: ENV-MACHINE unless vm_name is set
    state: DesiredState = "running"
    os_type: str | None = None
    cpus: int | None = None
    memory_mb: int | None = None
    disk_mb: int | None = None
    firmware: Firmware | None = None
    nics: tuple[Nic, ...] | None = None
    shared_folders: tuple[SharedFolder, ...] | None = None
    dvd: str | None = None  # absolute path of an ISO
    ssh: SshSpec = field(default_factory=SshSpec)
    ready: ReadySpec = field(default_factory=ReadySpec)
    provision: tuple[ProvisionStep, ...] = ()
    baseline: bool = False
    image: str | None = None  # name of an ImageSpec; the machine is made from it instead of empty
    linked: bool = True  # with an image: a linked clone of its template (False: a full clone)
    cloud_init: str | None = None  # user-data (YAML text) for the NoCloud seed, with cloud images
    install: InstallSpec | None = None  # with an installer ISO image; None = InstallSpec() defaults
    hosts: bool = False  # the other machines' names in the guest's /etc/hosts (or its cloud-init seed)
    primary: bool = False  # the machine `hosted ssh` (cp, logs) means when none is named
    hostname: str | None = None  # the guest's host name (cloud-init seed, else set over SSH); None: left
    groups: tuple[str, ...] = ()  # Ansible inventory groups (``hosted inventory``, ``ansible:``)
    disks: tuple[Disk, ...] | None = None  # extra disks; None: not declared
    virtualbox: VirtualBoxSettings = field(default_factory=VirtualBoxSettings)
    gui: bool = False  # started with a window instead of headless (virtualbox.gui)

    # Keys that describe the VM's configuration (compared with VirtualBox).  ``configure`` also
    # takes "virtualbox.KEY", one key of ``virtualbox``.
    CONFIG_KEYS = ("os_type", "cpus", "memory_mb", "disk_mb", "firmware", "nics",
                   "shared_folders", "dvd", "disks", "virtualbox")

    def forwards(self) -> tuple[Forward, ...]:
        """Every NAT forward the profile declares for the machine, in NIC order."""
        return tuple(f for n in self.nics or () for f in n.forwards)

    def config_hash(self) -> str:
        """A hash of the declared VM configuration, stored as a tag at apply time."""
        return _digest({k: _jsonable(getattr(self, k)) for k in self.CONFIG_KEYS})


@dataclass(frozen=True)
class AnsibleRun:
    """``ansible:``: ansible-playbook run from the host against machines of the environment."""

    name: str
    playbook: str  # absolute path
    limit: tuple[str, ...] = ()  # machine names or groups (``hosted inventory``); () = every machine
    extra_vars: tuple[tuple[str, str], ...] = ()
    run: Literal["once", "always"] = "once"
    options: tuple[str, ...] = ()  # more ansible-playbook arguments (--tags x, -v)

    def fingerprint(self) -> str:
        return _digest(asdict(self))


@dataclass(frozen=True)
class Environment:
    """A whole profile: the environment name and its machines, in profile order."""

    name: str
    path: str  # the profile file (absolute)
    machines: tuple[MachineSpec, ...]
    images: tuple[ImageSpec, ...] = ()
    # Risky but allowed settings, each "file:line: key: what and why" (forwards on every
    # address or a privileged port, shares the profile explicitly allows): shown before a plan.
    warnings: tuple[str, ...] = ()
    ansible: tuple[AnsibleRun, ...] = ()  # playbooks run from the host once their machines are ready
    includes: tuple[str, ...] = ()  # files the profile includes (absolute), for bundles
    # Values of the ${VAR}s the profile declares secret: hosted.redact.redact(text, env.secrets)
    # keeps them out of logs, bundles and JSON.  Never shown (repr=False).
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def machine(self, name: str) -> MachineSpec | None:
        return next((m for m in self.machines if m.name == name), None)

    def image(self, name: str) -> ImageSpec | None:
        return next((i for i in self.images if i.name == name), None)


@dataclass(frozen=True)
class Tags:
    """hosted's extradata tags on a machine it owns."""

    environment: str
    machine: str
    spec_hash: str = ""
    hosted_version: str = ""


@dataclass(frozen=True)
class ObservedMachine:
    """One VirtualBox machine as read from VirtualBox just now."""

    uuid: str
    vm_name: str
    tags: Tags | None  # None: hosted does not own this machine
    power: PowerState
    os_type: str
    cpus: int
    memory_mb: int
    firmware: Firmware
    nics: tuple[Nic, ...]  # enabled adapters, slot order; forwards with their real host ports
    shared_folders: tuple[SharedFolder, ...]
    disk_mb: int | None = None  # size of the disk hosted created, if any
    dvd: str | None = None
    settings_file: str = ""
    session_locked: bool = False
    accessible: bool = True
    disks: tuple[Disk, ...] = ()  # the extra disks hosted attached (names as it recorded them)
    virtualbox: VirtualBoxSettings = field(default_factory=VirtualBoxSettings)  # every key read
    # Read in brief, for a planner that compares no setting (power and snapshot commands), or a
    # machine that only matters for its ports and links (another environment's, or none's):
    # name, uuid, tags, power and NICs with their forwards; the rest is not read.
    brief: bool = False
    # False: read in brief without the NICs either (``nics`` is empty, not read), for a planner
    # that touches no NIC or network (power and snapshot commands): most of a brief read's calls.
    nics_read: bool = True
    # False: read without ``virtualbox`` (left undeclared, not read), for an environment whose
    # profile declares no ``virtualbox:`` key, since an undeclared key is never compared.
    settings_read: bool = True

    @property
    def owned(self) -> bool:
        return self.tags is not None

    @property
    def label(self) -> str:
        """The profile's machine name when hosted owns it, else the VirtualBox name."""
        return self.tags.machine if self.tags is not None else self.vm_name

    def forwards(self) -> tuple[Forward, ...]:
        if not self.nics_read:
            raise ValueError(f"{self.vm_name}: read without its NICs, so without its forwards")
        return tuple(f for n in self.nics for f in n.forwards)


@dataclass(frozen=True)
class SnapshotInfo:
    """A snapshot of a machine, as read."""
    id: str
    name: str
    description: str
    taken_at: float  # unix seconds
    online: bool  # holds a saved running state
    current: bool
    parent_id: str | None
    children: tuple[str, ...] = ()


@dataclass(frozen=True)
class BackendInfo:
    """Which backend is in use, and its version."""
    name: str  # "virtualbox", "memory"
    version: str
    api_version: str
    details: tuple[tuple[str, str], ...] = ()


def _jsonable(value: object) -> object:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: _jsonable(v) for k, v in asdict(value).items()}  # type: ignore[call-overload]
    return value


def _digest(value: object) -> str:
    raw = json.dumps(_jsonable(value), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]
