"""The profile format (version 1) as pydantic models: validation and JSON Schema.

These models describe the YAML as written; ``build`` turns them into
``hosted.model`` dataclasses.  Every machine key is optional so that the same
model serves ``defaults`` and each machine; ``None`` means "not given here".
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from hosted.profile.types import (
    MAX_COUNT,
    BoxName,
    BoxVersion,
    Cidr,
    CloudInit,
    Count,
    Cpus,
    DiskMB,
    ExistingDir,
    ExistingFile,
    ExistingPath,
    Flag,
    GuestAddress,
    GuestIp,
    GuestPath,
    HostIp,
    HostPort,
    ImageSource,
    Line,
    MemoryMB,
    Name,
    Port,
    SataPort,
    Seconds,
    Sha256,
    Text,
    Url,
    UserName,
    VramMB,
)

Adapter = Literal["Am79C970A", "Am79C973", "82540EM", "82543GC", "82545EM", "virtio", "Am79C960"]
NIC_KINDS = ("nat", "internal", "hostonly", "bridged", "natnetwork", "link")
MAX_NICS = 8  # VirtualBox's network adapter slots with the default (PIIX3) chipset


class Strict(BaseModel):
    """No unknown keys, no silent type coercion."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        data = cls.normalize(data)
        if isinstance(data, dict):
            for key in data:
                if key not in cls.model_fields:
                    # Reported at the key itself, with the allowed keys for a did-you-mean.
                    raise PydanticCustomError(
                        "unknown_key", "unknown key '{key}'",
                        {"key": key, "allowed": list(cls.model_fields)},
                    )
        return data

    @classmethod
    def normalize(cls, data: Any) -> Any:
        return data


def _one_of(model: BaseModel, keys: tuple[str, ...], what: str) -> None:
    given = [k for k in keys if getattr(model, k) is not None]
    if len(given) != 1:
        names = ", ".join(keys)
        found = f"got {', '.join(given)}" if given else "got none"
        raise PydanticCustomError("one_of", "{what} needs exactly one of {names} ({found})",
                                  {"what": what, "names": names, "found": found})


def key(description: str, default: Any = None, *, shown: Any = None, **field: Any) -> Any:
    """A profile key: ``default`` is what the model holds when the key is absent (None: not
    given); ``shown`` is the default the JSON Schema tells editors, when there is one."""
    if shown is not None:
        field["json_schema_extra"] = {"default": shown}
    return Field(default, description=description, **field)


ADAPTER = "emulated NIC type (not declared: VirtualBox's, e.g. 82540EM); the guest needs its driver"
NOT_DECLARED = "not declared: VirtualBox's setting stays"


def _fullmatch(pattern: str, value: str, what: str) -> str:
    if not re.fullmatch(pattern, value):
        raise PydanticCustomError("pattern", "'{value}' is not {what}", {"value": value[:60], "what": what})
    return value


def _matching(pattern: str, what: str) -> AfterValidator:
    return AfterValidator(lambda value: _fullmatch(pattern, value, what))


def _pattern(pattern: str) -> Any:
    return Field(json_schema_extra={"pattern": f"^{pattern}$"})  # for editors; checked by _matching


# pydantic matches `pattern` with Rust's regex, whose `$` is the end of the text only (no
# trailing newline slips through, unlike Python's `re.match`).
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class Forward(Strict):
    name: Name | None = key("rule name, unique within its NIC (default: tcp<guest>, or udp<guest>)")
    guest: Port = key("port in the guest", ...)
    host: HostPort = key("port on the host, or auto: a free one, kept across runs", shown="auto")
    host_ip: HostIp = key("host address to listen on; '' (or 0.0.0.0) listens on all", "127.0.0.1",
                          shown="127.0.0.1")
    guest_ip: GuestIp = key("guest address ('': the guest's NAT address)", "", shown="")
    protocol: Literal["tcp", "udp"] = key("protocol", "tcp", shown="tcp")


class Nat(Strict):
    forwards: list[Forward] = Field(default_factory=list, description="port forwards from the host",
                                    json_schema_extra={"default": []})
    adapter: Adapter | None = key(ADAPTER)


IP = ("the guest's address on this NIC, e.g. 10.20.0.11/24 (default prefix /24), or auto: hosted picks "
      "one (default: none)")
IP_FROM = ("with `count`: the address of NAME-1; each next machine gets the next address (NAME-2 the one "
           "after it, ...)")
STATIC = ("set the address inside the guest over SSH even where hosted's DHCP server would hand it out "
          "(a guest that does not ask by DHCP on this NIC)")


class Internal(Strict):
    network: Name = key("internal network name: machines on the same name reach each other", ...)
    adapter: Adapter | None = key(ADAPTER)
    ip: GuestAddress | None = key(IP)
    ip_from: GuestAddress | None = key(IP_FROM)
    static: Flag = key(STATIC, False, shown=False)


class HostOnly(Strict):
    interface: Line | None = key(f"host-only interface, e.g. vboxnet0 ({NOT_DECLARED})")
    adapter: Adapter | None = key(ADAPTER)
    ip: GuestAddress | None = key(IP)
    ip_from: GuestAddress | None = key(IP_FROM)
    static: Flag = key(STATIC, False, shown=False)


class NatNetwork(Strict):
    network: Name = key("NAT Network name: machines on it reach each other and, through NAT, the "
                        "outside", ...)
    cidr: Cidr | None = key("the NAT Network's range (default: the range of a declared `ip`, else "
                            "10.0.2.0/24)", shown="10.0.2.0/24")
    forwards: list[Forward] = Field(default_factory=list, description="port forwards from the host to "
                                    "this machine's address", json_schema_extra={"default": []})
    adapter: Adapter | None = key(ADAPTER)
    ip: GuestAddress | None = key(IP + "; forwards need one (auto when not given)")
    ip_from: GuestAddress | None = key(IP_FROM)
    static: Flag = key(STATIC, False, shown=False)


class Link(Strict):
    peer: Name = key("the machine at the other end: it needs a `link: {peer: THIS}` NIC too", ...)
    adapter: Adapter | None = key(ADAPTER)
    ip: GuestAddress | None = key(IP + "; set inside the guest over SSH")
    ip_from: GuestAddress | None = key(IP_FROM)


class Bridged(Strict):
    interface: Line | None = key(f"host interface to bridge, e.g. eth0 ({NOT_DECLARED})")
    adapter: Adapter | None = key(ADAPTER)


class NicEntry(Strict):
    """``- nat`` or ``- nat: {...}`` / ``- internal: {...}`` / ..."""

    nat: Nat | None = key("NAT, with optional port forwards")
    internal: Internal | None = key("a VirtualBox internal network shared by machines")
    hostonly: HostOnly | None = key("a host-only adapter")
    bridged: Bridged | None = key("bridged to a host interface")
    natnetwork: NatNetwork | None = key("a VirtualBox NAT Network: machines see each other and the outside")
    link: Link | None = key("a point-to-point Ethernet link to another machine of the profile (UDP tunnel; "
                            "needs no kernel driver)")

    @classmethod
    def normalize(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {data: {}}
        if isinstance(data, dict):
            return {k: ({} if v is None else v) for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> NicEntry:
        _one_of(self, NIC_KINDS, "a NIC")
        return self


class SharedFolder(Strict):
    host: ExistingDir = key("host directory, relative to the profile file; must exist", ...)
    guest: GuestPath = key("mount point in the guest ('': none)", "", shown="")
    name: Name | None = key("VirtualBox share name, unique per machine (default: from the guest path, "
                            "/srv/src -> srv_src)")
    readonly: Flag = key("the guest may not write (the default); false makes the share writable", True,
                         shown=True)
    allow_sensitive: Flag = key("allow sharing /, your home directory (or a directory holding it) or a "
                                "credentials directory such as ~/.ssh", False, shown=False)


class Ssh(Strict):
    user: UserName | None = key("login user", shown="root")
    port: Port | None = key("SSH port in the guest; the host side is the NAT forward to it", shown=22)
    private_key: ExistingFile | None = key("private key, relative to the profile (default: the "
                                           "environment's own key)")
    forward_agent: Flag | None = key("`hosted ssh` forwards your ssh-agent to the guest (ssh -A)",
                                     shown=False)
    forward_x11: Flag | None = key("`hosted ssh` forwards X11 (ssh -X)", shown=False)


class Ready(Strict):
    """Seconds each readiness stage may take, and a command that must succeed."""

    vm_running: Seconds | None = key("seconds until VirtualBox reports the VM running", shown=60)
    guest_network: Seconds | None = key("seconds until the Guest Additions report an IPv4 address "
                                        "(skipped without them)", shown=120)
    tcp: Seconds | None = key("seconds until the forwarded SSH port accepts a connection", shown=300)
    ssh: Seconds | None = key("seconds until the SSH banner arrives and a key login works "
                              "(installer ISO machines: 3600)", shown=300)
    command: Text | None = key("a command run over SSH that must exit 0 (default: none)")
    command_timeout: Seconds | None = key("seconds the ready command may take", shown=120)


ShellArg = str | int | float


class Shell(Strict):
    inline: str | None = key("the script's text")
    script: ExistingFile | None = key("a script file, relative to the profile")
    args: list[ShellArg] = Field(default_factory=list, json_schema_extra={"default": []},
                                 description="arguments of the script ($1, $2, ...), each passed as it is "
                                             "(quoted: spaces and quotes arrive intact)")

    @classmethod
    def normalize(cls, data: Any) -> Any:
        return {"inline": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _exactly_one(self) -> Shell:
        _one_of(self, ("inline", "script"), "a shell step")
        return self


class CopyFile(Strict):
    source: ExistingPath = key("host file or directory, relative to the profile", ...)
    destination: Line = key("path in the guest", ...)
    allow_sensitive: Flag = key("allow copying from a credentials directory such as ~/.ssh, your home "
                                "directory or /", False, shown=False)


EnvValue = str | int | float


class ProvisionEntry(Strict):
    shell: Shell | None = key("a shell script run in the guest: its text, or {script: FILE}")
    file: CopyFile | None = key("copy a host file or directory to the guest")
    name: Name | None = key("stable label, unique per machine; hosted records by name which steps ran "
                            "(default: shell-1, file-2, ... by position)")
    run: Literal["once", "always"] = key("once: until it succeeds, and again when it changes; "
                                         "always: on every up", "once", shown="once")
    env: dict[EnvName, EnvValue] = Field(default_factory=dict, json_schema_extra={"default": {}},
                                         description="environment variables for the step")
    privileged: Flag = key("run as root (via sudo when ssh.user is not root)", False, shown=False)
    reboot: Flag = key("reboot the machine after this step and wait until it is ready again; the next "
                       "steps run after that", False, shown=False)

    @model_validator(mode="after")
    def _exactly_one(self) -> ProvisionEntry:
        _one_of(self, ("shell", "file"), "a provision step")
        return self


USER_NAME, LOCALE = r"[a-z_][a-z0-9_-]{0,31}", r"[a-z]{2,3}_[A-Z]{2}"
HOSTNAME = r"(?=.{2,253}\Z)[A-Za-z0-9][A-Za-z0-9-]{1,62}(\.[A-Za-z0-9-]{1,63})*"
TIME_ZONE = r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*"
InstallUser = Annotated[str, _pattern(USER_NAME),
                        _matching(USER_NAME, "a user name (lower case, digits, _ and -)")]
Hostname = Annotated[str, Field(json_schema_extra={"pattern": "^" + HOSTNAME.replace("\\Z", "$") + "$"}),
                     _matching(HOSTNAME, "a host name (letters, digits and -, dot-separated, at least "
                                         "two characters before the first dot)")]
Locale = Annotated[str, _pattern(LOCALE), _matching(LOCALE, "a locale such as en_US or de_DE")]
TimeZone = Annotated[str, _pattern(TIME_ZONE), _matching(TIME_ZONE, "a time zone such as Europe/Berlin")]


class Install(Strict):
    """``install:`` of a machine whose image is an installer ISO (VirtualBox's unattended install)."""

    user: InstallUser | None = key("the user the installer creates; also the machine's default ssh.user",
                                   shown="hosted")
    password: Line | None = key("the user's password (default: generated once, kept in hosted's data "
                                "directory; prefer ${VARIABLE}, listed under `secrets:`, to writing it here)")
    full_name: Line | None = key("the user's full name (default: the user name)")
    hostname: Hostname | None = key("host name (default: the machine name); without a domain it gets "
                                    ".localdomain")
    guest_additions: Flag | None = key("install the Guest Additions too (needs VirtualBox's Guest "
                                       "Additions ISO)", shown=False)
    locale: Locale | None = key("installer and system locale", shown="en_US")
    time_zone: TimeZone | None = key("time zone, e.g. Europe/Berlin", shown="Etc/UTC")


HOST_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
GUEST_HOSTNAME = rf"(?=.{{1,253}}\Z){HOST_LABEL}(\.{HOST_LABEL})*"
GuestHostname = Annotated[str, Field(json_schema_extra={
    "pattern": "^" + GUEST_HOSTNAME.replace("\\Z", "$") + "$"}),
    _matching(GUEST_HOSTNAME, "a host name (letters, digits and -, dot-separated labels)")]
GROUP = r"[A-Za-z_][A-Za-z0-9_]*"
Group = Annotated[str, _pattern(GROUP), _matching(GROUP, "an Ansible group name (letters, digits, _)")]
VBOX_GROUP = r"(/[A-Za-z0-9][A-Za-z0-9._ -]*)+"
VBoxGroup = Annotated[str, _pattern(VBOX_GROUP), _matching(VBOX_GROUP, "a VirtualBox group such as /lab or "
                                                                       "/lab/k8s")]
EXTRADATA_KEY = r"[A-Za-z0-9][A-Za-z0-9_./:-]*"
ExtraDataKey = Annotated[str, _pattern(EXTRADATA_KEY),
                         _matching(EXTRADATA_KEY, "an extra data key such as GUI/ScaleFactor")]
Clip = Literal["disabled", "host_to_guest", "guest_to_host", "bidirectional"]


class DiskEntry(Strict):
    """One extra disk (``disks:``), on the machine's SATA controller."""

    size: DiskMB = key("size: megabytes or 10G", ...)
    name: Name = key("the disk's name, unique per machine; shareable disks of one name are one disk", ...)
    port: SataPort | None = key("SATA port 0-29 (default: the first free one)")
    type: Literal["dynamic", "fixed"] = key("dynamic: grows as the guest writes; fixed: allocated at once "
                                            "(shareable disks are always fixed)", "dynamic", shown="dynamic")
    nonrotational: Flag = key("the guest sees an SSD", False, shown=False)
    shareable: Flag = key("one disk for every machine that declares a shareable disk of this name "
                          "(clusters): created once, fixed-size, attached to each", False, shown=False)


class VirtualBox(Strict):
    """VirtualBox's own settings of the machine (Vagrant's ``vb.customize``)."""

    groups: list[VBoxGroup] | None = key(f"groups in the VirtualBox Manager, e.g. [/lab] ({NOT_DECLARED})")
    vram: VramMB | None = key(f"video memory in MB ({NOT_DECLARED})")
    graphics: Literal["vmsvga", "vboxvga", "vboxsvga", "none"] | None = key(
        f"graphics controller ({NOT_DECLARED})")
    audio: Flag | None = key(f"an audio adapter (false: none) ({NOT_DECLARED})")
    clipboard: Clip | None = key(f"shared clipboard ({NOT_DECLARED})")
    drag_and_drop: Clip | None = key(f"drag and drop ({NOT_DECLARED})")
    nested_virtualization: Flag | None = key(f"nested VT-x/AMD-V ({NOT_DECLARED})")
    ioapic: Flag | None = key(f"I/O APIC ({NOT_DECLARED})")
    paravirt: Literal["none", "default", "legacy", "minimal", "hyperv", "kvm"] | None = key(
        f"paravirtualization interface ({NOT_DECLARED})")
    usb: Literal["none", "ohci", "ehci", "xhci"] | None = key(
        f"USB controller: ohci (1.1), ehci (2.0), xhci (3.0) or none ({NOT_DECLARED})")
    nic_promiscuous: Literal["deny", "allow_vms", "allow_all"] | None = key(
        f"promiscuous mode of every network adapter ({NOT_DECLARED})")
    nat_dns_host_resolver: Flag | None = key(f"NAT adapters resolve names with the host's resolver "
                                             f"({NOT_DECLARED})")
    gui: Flag | None = key("start the machine with a window instead of headless", shown=False)
    extradata: dict[ExtraDataKey, Line | int | float] | None = key(
        "extra data KEY: VALUE for everything else (VBoxManage setextradata); compared like every key, "
        "and a key removed here is removed from the machine")


class Machine(Strict):
    """One machine; also the shape of ``defaults``."""

    count: Count | None = key(f"make COUNT machines NAME-1 ... NAME-{{COUNT}} from this entry; ${{index}} in "
                              f"its values is each one's number (1-{MAX_COUNT})")
    enabled: Flag | None = key("false: the machine is left out of the environment (e.g. "
                               "${WITH_DB:-true})", shown=True)

    vm_name: Name | None = key("VirtualBox machine name (default: ENV-MACHINE)")
    os_type: Line | None = key(f"VirtualBox guest OS type id, e.g. Debian_64, Ubuntu_64 ({NOT_DECLARED})")
    cpus: Cpus | None = key(f"virtual CPUs, 1-64 ({NOT_DECLARED})")
    memory: MemoryMB | None = key(f"RAM: megabytes, or a size such as 512M / 2G ({NOT_DECLARED})")
    disk: DiskMB | None = key("size of a new, empty disk hosted creates: megabytes or 10G (default: none)")
    firmware: Literal["bios", "efi"] | None = key(f"firmware type ({NOT_DECLARED})")
    state: Literal["running", "poweroff"] | None = key("the power state `hosted up` leaves the machine in",
                                                       shown="running")
    nics: list[NicEntry] | None = key(f"network adapters in slot order, at most 8 ({NOT_DECLARED})",
                                      max_length=MAX_NICS)
    shared_folders: list[SharedFolder] | None = key(f"host directories shared with the guest "
                                                    f"({NOT_DECLARED})")
    dvd: ExistingFile | None = key("an ISO image to attach as a DVD, relative to the profile")
    ssh: Ssh | None = key("how hosted logs in to the guest (default: root on port 22, with the "
                          "environment's own key)")
    ready: Ready | None = key("how long each readiness stage may take")
    provision: list[ProvisionEntry] | None = key("steps run in the guest once it is ready, in order",
                                                 shown=[])
    baseline: Flag | None = key("take a snapshot named baseline once the machine is first ready and "
                                "provisioned; `hosted reset` returns to it", shown=False)
    image: Name | Image | None = key("an image named under `images:`, or one given here ({box: "
                                     "bento/ubuntu-22.04}): the machine is made from it (default: an empty "
                                     "machine)")
    linked: Flag | None = key("with an image: a linked clone of its template; false for a full copy",
                              shown=True)
    cloud_init: CloudInit | None = key(
        "cloud-init user-data for the NoCloud seed (needs an image): a mapping (cloud-config, merged "
        "over hosted's) or text starting with a cloud-init header such as #cloud-config")
    install: Install | None = key("with an installer ISO image: the unattended install's user, password, "
                                  "host name, locale")
    hosts: Flag | None = key("the other machines reach this one by machine name, and it them: their "
                             "addresses in its /etc/hosts (default: true when the profile has several "
                             "machines)")
    hostname: GuestHostname | None = key("the guest's host name: in its cloud-init seed, else set over SSH "
                                         "(default: left as the image has it)")
    groups: list[Group] | None = key("Ansible inventory groups of the machine (`hosted inventory`)")
    disks: list[DiskEntry] | None = key(f"extra disks on the SATA controller ({NOT_DECLARED})")
    virtualbox: VirtualBox | None = key("VirtualBox settings: groups, VRAM, graphics, audio, clipboard, "
                                        "nested virtualization, extra data, ...")
    provision_mode: Literal["replace", "append"] | None = key(
        "how this machine's `provision` combines with the one in defaults: replace it, or append to it "
        "(defaults' steps first, as Vagrant runs global provisioners)", shown="replace")


class MachineEntry(Machine):
    """A machine under ``machines:``: the keys of ``defaults``, and those only a single machine has."""

    primary: Flag | None = key("the machine `hosted ssh`, `hosted cp` and `hosted logs` mean when no "
                               "machine is named (at most one machine; not in defaults)", shown=False)


ImageKind = Literal["auto", "box", "ova", "ovf", "disk", "iso"]


class Image(Strict):
    """One base image under ``images:``: a ``source``, or a Vagrant box by name (``box``) or by the URL
    of its metadata (``box_url``)."""

    source: ImageSource | None = key("path (relative to the profile; a file, or a directory such as a "
                                     "Vagrant box store entry) or an http(s) URL")
    box: BoxName | None = key("a Vagrant box by catalog name, e.g. bento/ubuntu-22.04: its VirtualBox file "
                              "for this host's CPU, with the checksum the catalog lists")
    box_url: Url | None = key("the URL of a box's metadata JSON (Vagrant's catalog format)")
    version: BoxVersion | None = key("with box or box_url: the box version (default: the newest)")
    catalog: Url | None = key("with box: the catalog's URL (default: $HOSTED_BOX_CATALOG, else "
                              "https://vagrantcloud.com)")
    sha256: Sha256 | None = key("expected sha256 of the file (required for URLs), or file:URL of the "
                                "publisher's checksum file (SHA256SUMS) that lists it")
    kind: ImageKind = key("what the file is; auto detects it from its content", "auto", shown="auto")
    arch: Literal["x86_64", "arm64"] | None = key("CPU architecture of the image (default: what the "
                                                  "image says)")
    cloud_init: Flag = key("the image runs cloud-init: machines get a NoCloud seed", False, shown=False)

    @model_validator(mode="after")
    def _one_source(self) -> Image:
        _one_of(self, ("source", "box", "box_url"), "an image")
        if self.source is not None and (self.version is not None or self.catalog is not None):
            raise PydanticCustomError("box_only", "`version` and `catalog` go with `box` (or `box_url`)", {})
        if self.box_url is not None and self.catalog is not None:
            raise PydanticCustomError("box_only", "`catalog` goes with `box`, not `box_url`", {})
        return self


class Ansible(Strict):
    """One ``ansible:`` run: ansible-playbook from this host against the environment's machines."""

    playbook: ExistingFile = key("the playbook, relative to the profile", ...)
    name: Name | None = key("stable label, unique; hosted records by name that it ran (default: the "
                            "playbook's file name)")
    limit: list[Name] | None = key("machines or groups to run against (default: every machine)")
    extra_vars: dict[EnvName, EnvValue] = Field(default_factory=dict, json_schema_extra={"default": {}},
                                                description="variables passed with --extra-vars")
    options: list[Line] = Field(default_factory=list, json_schema_extra={"default": []},
                                description="more ansible-playbook arguments, e.g. [--tags, web]")
    run: Literal["once", "always"] = key("once: until it succeeds, and again when it changes; always: "
                                         "on every up", "once", shown="once")


class Profile(Strict):
    SUPPORTED_VERSIONS: ClassVar[tuple[int, ...]] = (1,)

    version: Literal[1] = key("profile format version: 1", ...)
    name: Name = key("environment name; machines are tagged with it and named NAME-MACHINE", ...)
    include: list[ExistingFile] | None = key("YAML files whose keys this profile takes, its own winning "
                                             "(mappings merged key by key); relative to the profile")
    secrets: list[EnvName] | None = key("names of the ${VARIABLES} whose values are secret: never written "
                                        "to logs, bundles or JSON")
    defaults: Machine | None = key("machine keys applied under every machine; a machine's own win")
    images: dict[Name, Image] | None = key("base images by name, for machines' `image:`")
    machines: dict[Name, MachineEntry] = key("the machines by name, in this order", ..., min_length=1)
    ansible: list[Ansible] | None = key("playbooks run from this host with ansible-playbook, each once its "
                                        "machines are ready")

    @classmethod
    def normalize(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("machines"), dict):
            machines = {k: ({} if v is None else v) for k, v in data["machines"].items()}
            return {**data, "machines": machines}
        return data
